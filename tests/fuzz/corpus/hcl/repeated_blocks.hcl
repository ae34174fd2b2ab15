mount { a = 1 }
mount { a = 2 }
port "a" {}
port "b" {}
