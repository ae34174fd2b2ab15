# The berth command line: help, version, validate, fingerprint, and bad
# input that must fail before any container exists.

test_cli_help_and_version() {
    local out status
    out=$("$BERTH_BIN" --help)
    assert_contains "$out" "Usage: berth COMMAND" "berth --help"
    out=$("$BERTH_BIN" run --help)
    assert_contains "$out" "Usage: berth run [OPTIONS] JOBFILE" "berth run --help"
    out=$("$BERTH_BIN" version)
    assert_contains "$out" "berth $(cat VERSION)" "berth version"
    status=0
    "$BERTH_BIN" frobnicate >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 2 "$status" "unknown command status"
    assert_contains "$(cat "$IT_TMP/err")" 'unknown command "frobnicate"' "unknown command"
    status=0
    "$BERTH_BIN" run >/dev/null 2>&1 || status=$?
    assert_eq 2 "$status" "run without a job file"
    status=0
    "$BERTH_BIN" run -bogus x.hcl >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 2 "$status" "unknown option status"
    assert_contains "$(cat "$IT_TMP/err")" 'unknown option "-bogus"' "unknown option"
}

test_cli_help_subcommand() {
    local out expected status
    expected=$("$BERTH_BIN" run --help)
    out=$("$BERTH_BIN" help run)
    assert_eq "$expected" "$out" "berth help run"
    expected=$("$BERTH_BIN" node status --help)
    out=$("$BERTH_BIN" help node status)
    assert_eq "$expected" "$out" "berth help node status"
    status=0
    "$BERTH_BIN" help frobnicate >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 2 "$status" "help for an unknown command status"
    assert_contains "$(cat "$IT_TMP/err")" 'unknown command "frobnicate"' "help for an unknown command"
    status=0
    "$BERTH_BIN" node list >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 2 "$status" "berth node list status"
    assert_contains "$(cat "$IT_TMP/err")" 'berth node: unknown command "list"' "berth node list"
}

test_cli_help_layout() {
    local out before
    out=$("$BERTH_BIN" --help)
    before=$(grep -B1 '^The agent commands' <<<"$out" | head -n 1)
    assert_eq "" "$before" "line before \"The agent commands\""
    local command long
    for command in "" run validate fingerprint version agent job alloc node "job run" "alloc logs" "node status"; do
        # shellcheck disable=SC2086 # the command words split on purpose
        out=$("$BERTH_BIN" $command --help)
        long=$(awk 'length > 79' <<<"$out")
        assert_eq "" "$long" "lines over 79 columns in berth $command --help"
    done
    out=$("$BERTH_BIN" fingerprint --help)
    assert_contains "$out" "  -config FILE" "fingerprint --help lists -config"
    assert_contains "$out" "  -log-level LEVEL" "fingerprint --help lists -log-level"
}

test_cli_validate_reports_every_problem() {
    cat >"$IT_TMP/bad.hcl" <<'JOB'
job "bad" {
  group "g" {
    count = "many"
    task "t" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
      }
      resourcez {}
    }
  }
}
JOB
    local status=0
    "$BERTH_BIN" validate "$IT_TMP/bad.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/bad.hcl:3:13: \"count\" must be a whole number" "count error"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/bad.hcl:9:7: unknown key \"resourcez\" in task" "key error"
}

test_cli_validate_syntax_error_position() {
    printf 'job "x" {\n  group "g" {\n    count = \n  }\n' >"$IT_TMP/broken.hcl"
    local status=0
    "$BERTH_BIN" validate "$IT_TMP/broken.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    grep -qE "^$IT_TMP/broken.hcl:[0-9]+:[0-9]+: " "$IT_TMP/err" || fail "no FILE:LINE:COL in: $(cat "$IT_TMP/err")"
}

test_cli_validate_json_job() {
    cat >"$IT_TMP/job.json" <<'JOB'
{"Job": {"ID": "web", "Update": {"MaxParallel": 1},
 "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker",
   "Config": {"image": "berth-test/busybox:1", "port_map": [{"http": 80}]},
   "Resources": {"Networks": [{"DynamicPorts": [{"Label": "http", "Value": 0}]}]}}]}]}}
JOB
    local out status=0
    out=$("$BERTH_BIN" validate "$IT_TMP/job.json" 2>"$IT_TMP/err")
    assert_contains "$out" 'job "web" is valid' "valid JSON job"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/job.json: Job.Update: accepted and ignored" "ignored field warning"

    sed -e 's/"image": "berth-test\/busybox:1"/"image": "berth-test\/busybox:1", "imagee": 1/' \
        -e 's/"Networks"/"CPU": "many", "Networks"/' "$IT_TMP/job.json" >"$IT_TMP/bad.json"
    "$BERTH_BIN" validate "$IT_TMP/bad.json" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/bad.json: Job.TaskGroups[0].Tasks[0].Resources.CPU: must be a whole number, not a string" "CPU error"

    sed -e 's/"CPU": "many", //' "$IT_TMP/bad.json" >"$IT_TMP/typo.json"
    status=0
    "$BERTH_BIN" validate "$IT_TMP/typo.json" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "config typo exit status"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/typo.json: Job.TaskGroups[0].Tasks[0].Config.imagee: unknown config option" "config option error"
}

test_cli_validate_counts_groups_and_tasks() {
    cat >"$IT_TMP/one.hcl" <<'JOB'
job "one" {
  group "g" {
    task "t" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
      }
    }
  }
}
JOB
    cat >"$IT_TMP/two.hcl" <<'JOB'
job "two" {
  group "a" {
    task "t1" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
      }
    }
    task "t2" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
      }
    }
  }
  group "b" {
    task "t3" {
      driver = "docker"
      config {
        image = "berth-test/busybox:1"
      }
    }
  }
}
JOB
    local out
    out=$("$BERTH_BIN" validate "$IT_TMP/one.hcl")
    assert_eq "$IT_TMP/one.hcl: job \"one\" is valid (1 group, 1 task)" "$out" "one group"
    out=$("$BERTH_BIN" validate "$IT_TMP/two.hcl")
    assert_eq "$IT_TMP/two.hcl: job \"two\" is valid (2 groups, 3 tasks)" "$out" "two groups"
    out=$("$BERTH_BIN" validate --help)
    assert_contains "$out" "ends in .json is read in Nomad's JSON job format" "validate --help"
}

test_cli_validate_accepts_examples() {
    local file out
    for file in examples/*.hcl; do
        # The agent configuration example is not a job file; the agent
        # config tests load it.
        [ "$file" = examples/agent.hcl ] && continue
        out=$("$BERTH_BIN" validate "$file")
        assert_contains "$out" "is valid" "validate $file"
    done
}

test_cli_run_rejects_bad_jobs_before_docker() {
    # Each case: name|task body (\n for a new line)|expected error text.
    local cases=(
        'driver|config { image = "berth-test/busybox:1" }|berth runs only driver "docker"'
        'typo|config { imagee = "x" }|unknown config option "imagee"'
        'noimage|config { command = "x" }|the docker driver needs an image'
        'badref|config { image = "Upper/Case" }|invalid image reference "Upper/Case"'
        'portmap|config {\nimage = "berth-test/busybox:1"\nport_map { http = 80 }\n}|config option "port_map" maps port "http", but the task has no network ports'
        'portlabel|config {\nimage = "berth-test/busybox:1"\nport_map { web = 80 }\n}\nresources {\nnetwork {\nport "http" {}\n}\n}|port_map label "web" has no port in the task'"'"'s network block'
        'privileged|config {\nimage = "berth-test/busybox:1"\nprivileged = true\n}|docker.privileged.enabled'
        'command|config {\nimage = "berth-test/busybox:1"\ncommand = " sh"\n}|white space at the start or end'
        'memory|config { image = "berth-test/busybox:1" }\nresources { memory = "lots" }|"memory" must be a whole number'
    )
    local entry case_name body expected status
    for entry in "${cases[@]}"; do
        IFS='|' read -r case_name body expected <<<"$entry"
        [ -n "$expected" ] || fail "case $case_name has no expected text"
        body=$(printf '%b' "$body")
        if [ "$case_name" = driver ]; then
            DRIVER=exec write_job "$IT_TMP/$case_name.hcl" "$body"
        else
            write_job "$IT_TMP/$case_name.hcl" "$body"
        fi
        status=0
        timeout 30 "$BERTH_BIN" run "$IT_TMP/$case_name.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
        assert_eq 1 "$status" "$case_name exit status"
        assert_contains "$(cat "$IT_TMP/err")" "$expected" "$case_name error"
        assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/$case_name.hcl:" "$case_name error position"
    done
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_cli_fingerprint_reports_engine() {
    local out version
    out=$("$BERTH_BIN" fingerprint)
    version=$(api GET /version | jq -r .Version)
    assert_contains "$out" "driver.docker = 1" "fingerprint"
    assert_contains "$out" "driver.docker.version = $version" "fingerprint"
}

test_cli_fingerprint_unreachable_engine() {
    local status=0
    DOCKER_HOST="unix://$IT_TMP/no-engine.sock" "$BERTH_BIN" fingerprint >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "unix://$IT_TMP/no-engine.sock" "error names the endpoint"
    status=0
    DOCKER_HOST="unix://$IT_TMP/no-engine.sock" timeout 30 "$BERTH_BIN" run examples/webservice.hcl >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "run exit status"
    assert_contains "$(cat "$IT_TMP/err")" "unix://$IT_TMP/no-engine.sock" "run error names the endpoint"
}

test_cli_missing_job_file() {
    local status=0
    "$BERTH_BIN" run "$IT_TMP/absent.hcl" >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "run exit status"
    assert_contains "$(cat "$IT_TMP/err")" "berth run: cannot read job file $IT_TMP/absent.hcl: No such file or directory" "run error"
    status=0
    "$BERTH_BIN" validate "$IT_TMP/absent.hcl" >/dev/null 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "validate exit status"
    assert_contains "$(cat "$IT_TMP/err")" "berth validate: cannot read job file" "validate error"
}
