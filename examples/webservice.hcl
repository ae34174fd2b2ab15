# The docker driver's webservice example: one task serving a page on a
# dynamic port, mapped to port 8080 inside the container.
#
#   berth run examples/webservice.hcl
#
# berth-test/web:1 is a 2 MB busybox image that scripts/test-images.sh
# builds locally; it runs `httpd -f -v -p 8080 -h /www`.
job "webservice" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    count = 1

    task "webservice" {
      driver = "docker"

      config = {
        image = "berth-test/web:1"
        labels = {
          group = "webservice-cache"
        }
        port_map = {
          http = 8080
        }
      }

      resources {
        cpu    = 100
        memory = 64
        network {
          mbits = 10
          port "http" {}
        }
      }
    }
  }
}
