# Pulls from a real registry on 127.0.0.1 (TLS and htpasswd logins) with
# each source of credentials berth reads: the task's auth block, the
# agent's auth file in its key forms, a credential helper. No password may
# reach berth's output.
#
# The engine treats registries on 127.0.0.0/8 as insecure by default, so it
# speaks TLS to this one without checking the self-signed certificate and
# no file under /etc/docker/certs.d is needed.

REGISTRY_USER=berthuser
REGISTRY_PASSWORD=Pw-0f-berth-test-7731

# registry_auth_header USER PASSWORD: the X-Registry-Auth value for a push.
registry_auth_header() {
    printf '{"username":"%s","password":"%s","serveraddress":"127.0.0.1:%s"}' "$1" "$2" \
        "$REGISTRY_PORT" | base64 -w0 | tr '+/' '-_'
}

# Starts a registry for this test, pushes berth-test/busybox:1 to it as
# $REGISTRY_IMAGE and removes the local copy so berth must pull it.
setup_registry() {
    it_cleanup "scripts/registry.sh stop '$IT_TMP/registry'"
    REGISTRY_PORT=$(scripts/registry.sh start "$IT_TMP/registry" "$REGISTRY_USER" "$REGISTRY_PASSWORD")
    REGISTRY=127.0.0.1:$REGISTRY_PORT
    REGISTRY_IMAGE=$REGISTRY/berth/app:1
    it_cleanup "api DELETE '/images/$REGISTRY_IMAGE?force=1'"
    api POST "/images/berth-test/busybox:1/tag?repo=$REGISTRY/berth/app&tag=1" >/dev/null
    local reply
    reply=$(curl -sS --unix-socket "${DOCKER_HOST#unix://}" -X POST \
        -H "X-Registry-Auth: $(registry_auth_header "$REGISTRY_USER" "$REGISTRY_PASSWORD")" \
        "http://localhost/images/$REGISTRY/berth/app/push?tag=1")
    assert_contains "$reply" '"Tag":"1"' "push reply"
    remove_registry_image
}

remove_registry_image() {
    api DELETE "/images/$REGISTRY_IMAGE?force=1" >/dev/null
    api GET "/images/$REGISTRY_IMAGE/json" | grep -q 'No such image' ||
        fail "image $REGISTRY_IMAGE is still present"
}

# write_pull_job FILE [AUTH_BLOCK]: a task that runs the registry image.
write_pull_job() {
    write_job "$1" "
      config {
        image = \"$REGISTRY_IMAGE\"
        command = \"echo\"
        args = [\"pulled and ran\"]
        ${2:-}
      }"
}

write_agent() {
    cat >"$IT_TMP/agent.hcl" <<AGENT
client {
  options {
    "docker.auth.config" = "$1"
  }
}
AGENT
}

# run_pull EXPECTED_STATUS BERTH_ARGS...: runs berth with debug logs and
# checks its status, and that the password is in no output.
run_pull() {
    local expected=$1
    shift
    local status=0
    timeout 90 "$BERTH_BIN" run -log-level debug "$@" >"$IT_TMP/out" 2>"$IT_TMP/err" || status=$?
    assert_eq "$expected" "$status" "exit status (stderr: $(tail -n 5 "$IT_TMP/err"))"
    assert_not_contains "$(cat "$IT_TMP/out" "$IT_TMP/err")" "$REGISTRY_PASSWORD" "berth's output"
    assert_eq 0 "$(job_container_count "$IT_JOB")" "containers left"
}

test_registry_pull_task_auth() {
    setup_registry
    write_pull_job "$IT_TMP/job.hcl" "
        auth {
          username = \"$REGISTRY_USER\"
          password = \"$REGISTRY_PASSWORD\"
        }"
    run_pull 0 "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout"
}

test_registry_pull_without_credentials() {
    setup_registry
    write_pull_job "$IT_TMP/job.hcl"
    run_pull 1 "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/err")" "pull $REGISTRY_IMAGE" "stderr"
}

test_registry_pull_auth_file_keys() {
    setup_registry
    write_pull_job "$IT_TMP/job.hcl"
    local encoded key
    encoded=$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)
    # config.json with a bare host:port key and a base64 "auth" entry.
    jq -n --arg k "$REGISTRY" --arg a "$encoded" '{auths: {($k): {auth: $a}}}' >"$IT_TMP/auth.json"
    write_agent "$IT_TMP/auth.json"
    run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout with a bare key"
    remove_registry_image

    # An https:// key with username and password entries.
    key="https://$REGISTRY"
    jq -n --arg k "$key" --arg u "$REGISTRY_USER" --arg p "$REGISTRY_PASSWORD" \
        '{auths: {($k): {username: $u, password: $p}}}' >"$IT_TMP/auth.json"
    run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout with an https key"
    remove_registry_image

    # A legacy .dockercfg: the registries at the top level.
    jq -n --arg k "$key" --arg a "$encoded" '{($k): {auth: $a, email: "ops@example.invalid"}}' \
        >"$IT_TMP/dockercfg"
    write_agent "$IT_TMP/dockercfg"
    run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout with a legacy file"
}

test_registry_task_auth_wins_over_file() {
    setup_registry
    # The file's password is wrong, the task's is right: the task wins.
    jq -n --arg k "$REGISTRY" --arg u "$REGISTRY_USER" \
        '{auths: {($k): {username: $u, password: "not-the-password"}}}' >"$IT_TMP/auth.json"
    write_agent "$IT_TMP/auth.json"
    write_pull_job "$IT_TMP/job.hcl" "
        auth {
          username = \"$REGISTRY_USER\"
          password = \"$REGISTRY_PASSWORD\"
        }"
    run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
}

# write_helper NAME BODY: a credential helper script on $IT_TMP/bin.
write_helper() {
    mkdir -p "$IT_TMP/bin"
    cat >"$IT_TMP/bin/docker-credential-$1" <<HELPER
#!/bin/sh
[ "\$1" = get ] || { echo "unexpected action \$1" >&2; exit 3; }
read -r server
echo "\$server" >>"$IT_TMP/helper-input"
$2
HELPER
    chmod +x "$IT_TMP/bin/docker-credential-$1"
}

test_registry_pull_credential_helper() {
    setup_registry
    write_helper berthtest "printf '{\"ServerURL\":\"%s\",\"Username\":\"$REGISTRY_USER\",\"Secret\":\"$REGISTRY_PASSWORD\"}' \"\$server\""
    jq -n --arg k "$REGISTRY" '{auths: {($k): {}}, credHelpers: {($k): "berthtest"}}' \
        >"$IT_TMP/auth.json"
    write_agent "$IT_TMP/auth.json"
    write_pull_job "$IT_TMP/job.hcl"
    PATH="$IT_TMP/bin:$PATH" run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout with credHelpers"
    assert_eq "$REGISTRY" "$(cat "$IT_TMP/helper-input")" "registry sent to the helper"
    remove_registry_image

    # credsStore names the helper for every registry.
    jq -n '{credsStore: "berthtest"}' >"$IT_TMP/auth.json"
    PATH="$IT_TMP/bin:$PATH" run_pull 0 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/out")" "| pulled and ran" "stdout with credsStore"
}

test_registry_credential_helper_fails() {
    setup_registry
    write_helper berthtest 'echo "keychain is locked" >&2; exit 4'
    jq -n '{credsStore: "berthtest"}' >"$IT_TMP/auth.json"
    write_agent "$IT_TMP/auth.json"
    write_pull_job "$IT_TMP/job.hcl"
    PATH="$IT_TMP/bin:$PATH" run_pull 1 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/err")" "docker-credential-berthtest" "stderr"
    assert_contains "$(cat "$IT_TMP/err")" "keychain is locked" "stderr"

    # A helper that is not on PATH.
    jq -n '{credsStore: "berthtest-missing"}' >"$IT_TMP/auth.json"
    run_pull 1 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/err")" "docker-credential-berthtest-missing" "stderr"
}

test_registry_wrong_password_fails() {
    setup_registry
    local wrong=Wr0ng-pw-berth-5518
    jq -n --arg k "$REGISTRY" --arg u "$REGISTRY_USER" --arg p "$wrong" \
        '{auths: {($k): {username: $u, password: $p}}}' >"$IT_TMP/auth.json"
    write_agent "$IT_TMP/auth.json"
    write_pull_job "$IT_TMP/job.hcl"
    run_pull 1 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/err")" "unauthorized" "stderr"
    assert_not_contains "$(cat "$IT_TMP/out" "$IT_TMP/err")" "$wrong" "berth's output"
}

test_registry_missing_auth_file() {
    setup_registry
    write_agent "$IT_TMP/no-such-auth.json"
    write_pull_job "$IT_TMP/job.hcl"
    run_pull 1 -config "$IT_TMP/agent.hcl" "$IT_TMP/job.hcl"
    assert_contains "$(cat "$IT_TMP/err")" "$IT_TMP/no-such-auth.json" "stderr"
    assert_contains "$(cat "$IT_TMP/err")" "No such file or directory" "stderr"
}
