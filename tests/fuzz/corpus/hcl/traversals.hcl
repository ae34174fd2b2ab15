x = attr["kernel.name"]
y = node.unique.name
z = a.0.b[1]
