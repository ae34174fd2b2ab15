# Image archives (load), artifact blocks that fetch them, and image
# cleanup. No registry is needed: each test saves berth-test/busybox:1
# under a test-only name, removes that name, and lets berth load it back.

# make_archive NAME FILE: saves berth-test/busybox:1 tagged NAME:1 to FILE
# and removes the tag again, so only the archive contains NAME:1.
make_archive() {
    local name=$1 file=$2
    api POST "/images/berth-test/busybox:1/tag?repo=$(urlencode "$name")&tag=1" >/dev/null
    it_cleanup "api DELETE /images/$name:1"
    api GET "/images/$name:1/get" >"$file"
    api DELETE "/images/$name:1" >/dev/null
    image_absent "$name:1" || fail "could not remove the tag $name:1 after saving it"
}

image_present() {
    [ "$(api GET "/images/$1/json" | jq -r '.Id // empty')" != "" ]
}

image_absent() {
    ! image_present "$1"
}

running_count() {
    api GET "/containers/json?filters=$(urlencode "{\"label\":[\"berth.job=$1\"]}")" | jq length
}

running_count_is() {
    [ "$(running_count "$1")" -eq "$2" ]
}

# start_http_server DIR: serves DIR on 127.0.0.1 at a free port, stored in
# HTTP_PORT; the test's cleanup stops the server by its pid.
start_http_server() {
    HTTP_PORT=$(free_port)
    python3 -m http.server --bind 127.0.0.1 --directory "$1" "$HTTP_PORT" >"$IT_TMP/http.log" 2>&1 &
    local pid=$!
    it_cleanup "kill $pid"
    wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/"
}

test_load_archive_from_local_artifact() {
    local name="berth-test/load-${IT_JOB}"
    make_archive "$name" "$IT_TMP/image.tar"
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"$IT_TMP/image.tar\"
      }
      config {
        image = \"$name:1\"
        load = \"image.tar\"
        command = \"echo\"
        args = [\"loaded and running\"]
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(cat "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "| loaded and running" "stdout"
    assert_contains "$(cat "$IT_TMP/err")" "loading image archive" "stderr"
    image_absent "$name:1" || fail "berth loaded $name:1 but did not remove it after the run"
    image_present "berth-test/busybox:1" || fail "removing $name:1 also removed berth-test/busybox:1"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_load_cleanup_disabled_keeps_image() {
    local name="berth-test/load-${IT_JOB}"
    make_archive "$name" "$IT_TMP/image.tar"
    cat >"$IT_TMP/agent.hcl" <<'AGENT'
client {
  options {
    "docker.cleanup.image" = "false"
  }
}
AGENT
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"$IT_TMP/image.tar\"
      }
      config {
        image = \"$name:1\"
        load = \"image.tar\"
        command = \"echo\"
        args = [\"ran\"]
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(cat "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "| ran" "stdout"
    image_present "$name:1" || fail "$name:1 was removed although docker.cleanup.image is false"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_load_image_kept_while_in_use() {
    local name="berth-test/load-${IT_JOB}"
    make_archive "$name" "$IT_TMP/image.tar"
    # Two copies of the task share the loaded image; copy 0 ends after
    # about 3 s, copy 1 when the file "release" appears.
    mkdir "$IT_TMP/shared"
    chmod 777 "$IT_TMP/shared"
    cat >"$IT_TMP/job.hcl" <<JOB
job "$IT_JOB" {
  datacenters = ["dc1"]
  type = "batch"
  group "g" {
    count = 2
    task "t" {
      driver = "docker"
      artifact {
        source = "file://$IT_TMP/image.tar"
        destination = "local/images"
      }
      config {
        image = "$name:1"
        load = ["images/image.tar"]
        command = "sh"
        args = ["-c", "if [ \${NOMAD_ALLOC_INDEX} = 0 ]; then sleep 3; else while [ ! -e /local/release ]; do sleep 0.2; done; fi"]
      }
    }
  }
}
JOB
    start_berth run -data-dir "$IT_TMP/data" "$IT_TMP/job.hcl"
    wait_for 30 running_count_is "$IT_JOB" 2
    image_present "$name:1" || fail "$name:1 is missing while both tasks run"

    wait_for 30 running_count_is "$IT_JOB" 1
    # One task has ended and its container is gone; the other still uses
    # the image, so it must stay.
    wait_for 10 output_lines_equal "exited with code 0" "$IT_TMP/err" 1
    image_present "$name:1" || fail "$name:1 was removed while another task still uses it"

    local d
    for d in $(find "$IT_TMP/data" -type d -path '*/t/local'); do touch "$d/release"; done
    wait_berth 30
    assert_eq 0 "$BERTH_STATUS" "exit status (stderr: $(cat "$IT_TMP/err"))"
    image_absent "$name:1" || fail "$name:1 is still present after the last task ended"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_load_present_image_never_removed() {
    # An image that exists before the run is not berth's: it stays even
    # though the task names an archive.
    local name="berth-test/load-${IT_JOB}"
    make_archive "$name" "$IT_TMP/image.tar"
    api POST "/images/berth-test/busybox:1/tag?repo=$(urlencode "$name")&tag=1" >/dev/null
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"$IT_TMP/image.tar\"
      }
      config {
        image = \"$name:1\"
        load = \"image.tar\"
        command = \"true\"
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(cat "$IT_TMP/err"))"
    assert_not_contains "$(cat "$IT_TMP/err")" "loading image archive" "stderr"
    image_present "$name:1" || fail "berth removed $name:1, which was present before the run"
}

test_load_missing_archive_fails() {
    write_job "$IT_TMP/job.hcl" '
      config {
        image = "berth-test/load-never-there:1"
        load = "missing.tar"
      }'
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" 'image archive "missing.tar" not found' "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}

test_load_archive_without_image_fails() {
    local name="berth-test/load-${IT_JOB}"
    make_archive "$name" "$IT_TMP/image.tar"
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"$IT_TMP/image.tar\"
      }
      config {
        image = \"berth-test/load-other-${IT_JOB}:1\"
        load = \"image.tar\"
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "image.tar does not contain image berth-test/load-other-${IT_JOB}:1" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}

test_load_path_outside_allocation_rejected() {
    local path
    for path in "../../../../../../etc/hostname" "/etc/hostname"; do
        write_job "$IT_TMP/job.hcl" "
      config {
        image = \"berth-test/load-never-there:1\"
        load = \"$path\"
      }"
        local status=0
        timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
        assert_eq 1 "$status" "exit status for $path"
        assert_contains "$(cat "$IT_TMP/err")" "\"$path\" is outside the allocation directory" "stderr for $path"
        assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made for $path"
    done
}

test_artifact_http_download() {
    local name="berth-test/load-${IT_JOB}"
    mkdir "$IT_TMP/www"
    make_archive "$name" "$IT_TMP/www/image.tar"
    echo "artifact text" >"$IT_TMP/www/note.txt"
    start_http_server "$IT_TMP/www"
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"http://127.0.0.1:$HTTP_PORT/image.tar\"
      }
      artifact {
        source = \"http://127.0.0.1:$HTTP_PORT/note.txt?version=1\"
        destination = \"local/notes\"
      }
      config {
        image = \"$name:1\"
        load = \"image.tar\"
        command = \"cat\"
        args = [\"/local/notes/note.txt\"]
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 0 "$status" "exit status (stderr: $(cat "$IT_TMP/err"))"
    assert_contains "$(cat "$IT_TMP/out")" "| artifact text" "stdout"
    image_absent "$name:1" || fail "$name:1 is still present after the run"
}

test_artifact_http_failure_fails_task() {
    mkdir "$IT_TMP/www"
    start_http_server "$IT_TMP/www"
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"http://127.0.0.1:$HTTP_PORT/missing.tar\"
      }
      config {
        image = \"berth-test/busybox:1\"
        command = \"true\"
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "fetch artifact http://127.0.0.1:$HTTP_PORT/missing.tar: server returned HTTP 404" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}

test_artifact_unreachable_server_fails_task() {
    # A port nothing listens on: bind a socket to get a free port, then
    # close it.
    local port
    port=$(free_port)
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"http://127.0.0.1:$port/image.tar\"
      }
      config {
        image = \"berth-test/busybox:1\"
        command = \"true\"
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "fetch artifact http://127.0.0.1:$port/image.tar:" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}

test_artifact_missing_local_file_fails_task() {
    write_job "$IT_TMP/job.hcl" "
      artifact {
        source = \"$IT_TMP/nothing-here.tar\"
      }
      config {
        image = \"berth-test/busybox:1\"
        command = \"true\"
      }"
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    assert_contains "$(cat "$IT_TMP/err")" "fetch artifact $IT_TMP/nothing-here.tar: file $IT_TMP/nothing-here.tar not found" "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}

test_artifact_unsupported_settings_rejected() {
    write_job "$IT_TMP/job.hcl" '
      artifact {
        source = "/tmp/x.tar"
        destination = "../outside"
        mode = "file"
        options {
          checksum = "sha256:00"
        }
      }
      config {
        image = "berth-test/busybox:1"
      }'
    local status=0
    timeout 60 "$BERTH_BIN" run "$IT_TMP/job.hcl" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq 1 "$status" "exit status"
    local err
    err=$(cat "$IT_TMP/err")
    assert_contains "$err" 'artifact destination "../outside" must be a folder inside the task'"'"'s folder' "stderr"
    assert_contains "$err" 'artifact "mode" is not supported by berth yet' "stderr"
    assert_contains "$err" 'artifact option "checksum" is not supported by berth yet' "stderr"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers made"
}
