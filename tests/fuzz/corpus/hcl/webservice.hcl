task "webservice" {
  driver = "docker"
  config = {
    image = "redis"
    labels = {
      group = "webservice-cache"
    }
  }
}
