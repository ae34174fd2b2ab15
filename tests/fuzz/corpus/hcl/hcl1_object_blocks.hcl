x = { port_map { http = 80 }
 a "b" "c" { d = 1 }
 port_map { db = 5 } }
