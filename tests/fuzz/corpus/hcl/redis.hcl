task "redis" {
  driver = "docker"
  resources {
    network {
      mbits = 20
      port "redis" {}
    }
  }
  config {
    image = "redis"
    port_map {
      redis = 6379
    }
  }
}
