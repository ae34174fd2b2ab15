x = format("%s-%d %v %q", lower("A"), length([1]), concat([1],[2]...), jsonencode({a = null}))
y = merge({a=1},{b=2})
z = replace(trimspace(" a "), "a", "b")
