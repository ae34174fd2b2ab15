client {
  options = {
    "docker.cleanup.image" = "false"
  }
}
