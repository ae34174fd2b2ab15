a = <<EOF
hello ${x}
EOF
b = <<-EOT
    one
      two
    EOT
