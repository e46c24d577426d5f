# Sourced by scripts/test: makes sure Prometheus' Alertmanager binary is installed (with apt when
# missing) for the end-to-end test that drives it. Only the binary is wanted: the test starts its
# own Alertmanager on a free loopback port, so a service the package may start is stopped again.

am_say() { printf '\n== %s\n' "$*" >&2; }

# Installs Debian's prometheus-alertmanager when neither it nor `alertmanager` is on PATH (and
# BELLHOP_ALERTMANAGER names no binary).
ensure_alertmanager() {
    if [ -n "${BELLHOP_ALERTMANAGER:-}" ]; then return; fi
    if command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null; then return; fi
    am_say "installing prometheus-alertmanager"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
    # Where the package's service did start, it would hold port 9093 and a cluster port: stop it.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
    else
        service prometheus-alertmanager stop >/dev/null 2>&1 || true
    fi
    command -v prometheus-alertmanager >/dev/null
}
