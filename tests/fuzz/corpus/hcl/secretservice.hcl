task "secretservice" {
  driver = "docker"
  config {
    image = "secret/service"
    auth {
      username = "dockerhub_user"
      password = "dockerhub_password"
    }
  }
}
