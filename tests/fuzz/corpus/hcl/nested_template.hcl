x = "${"nested ${"strings"}"}"
