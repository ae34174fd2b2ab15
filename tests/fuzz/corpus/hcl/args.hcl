args = ["${nomad.datacenter}", "${MY_ENV}", "${meta.foo}"]
