#!/usr/bin/env bash
# Installs mirrorgate-agent on one IRIS (or Caché) mirror member host, from files you
# bring: it downloads nothing. Run it as root on every failover, DR and reporting member.
#
#   agent/dist/install.sh --binary PATH --user OSUSER [--iris-bin DIR] [--root DIR]
#
#   --binary PATH   the mirrorgate-agent binary (cargo build --release -p mirrorgate-agent)
#   --user OSUSER   the OS user the agent runs as: `iris session` logs in as this user with
#                   OS authentication (iris/README.md), e.g. the instance owner
#   --iris-bin DIR  the directory of `iris` / `csession` (default: found on PATH, else
#                   /usr/irissys/bin)
#   --root DIR      install under DIR instead of / (to look at the result); systemd is
#                   then left alone
#
# It installs /usr/local/bin/mirrorgate-agent, /etc/mirrorgate/agent.toml (only when
# there is none: an existing configuration is kept), the systemd unit
# mirrorgate-agent.service, the routines under /usr/local/share/mirrorgate/iris and the
# log directory /var/log/mirrorgate (owned by OSUSER) that ^ZMIRROR's agent runs write to.
# It does not start the agent: edit the configuration, load the routines, run
# `mirrorgate-agent --check` as OSUSER, then `systemctl enable --now mirrorgate-agent`.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary=""
user=""
iris_bin=""
root=""

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
    exit 2
}
fail() {
    echo "install.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
    --binary) binary="${2:-}"; shift 2 ;;
    --user) user="${2:-}"; shift 2 ;;
    --iris-bin) iris_bin="${2:-}"; shift 2 ;;
    --root) root="${2:-}"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "install.sh: unknown argument $1" >&2; usage ;;
    esac
done

[ -n "$binary" ] || fail "--binary is required: the mirrorgate-agent binary to install"
if [ ! -f "$binary" ] || [ ! -x "$binary" ]; then
    fail "--binary $binary is not an executable file"
fi
[ -n "$user" ] || fail "--user is required: the OS user that logs in to IRIS with OS authentication"
case "$user" in
*[!A-Za-z0-9._-]*) fail "--user $user is not a user name" ;;
esac
if [ -z "$root" ]; then
    [ "$(id -u)" -eq 0 ] || fail "run it as root (or with --root DIR to install under DIR)"
    id "$user" >/dev/null 2>&1 || fail "there is no OS user $user on this host"
fi
if [ -z "$iris_bin" ]; then
    if command -v iris >/dev/null 2>&1; then
        iris_bin="$(dirname "$(command -v iris)")"
    elif command -v csession >/dev/null 2>&1; then
        iris_bin="$(dirname "$(command -v csession)")"
    else
        iris_bin="/usr/irissys/bin"
    fi
fi
case "$iris_bin" in
/*) ;;
*) fail "--iris-bin $iris_bin is not an absolute path" ;;
esac
case "$iris_bin" in
*[!A-Za-z0-9/._-]*) fail "--iris-bin $iris_bin has characters a systemd PATH cannot hold" ;;
esac
for f in agent.toml mirrorgate-agent.service; do
    [ -f "$here/$f" ] || fail "$here/$f is missing: run install.sh from a checkout of mirrorgate"
done
routines="$here/../../iris"
for f in ZMIRRORGATE.mac ZMIRROR.mac; do
    [ -f "$routines/$f" ] || fail "$routines/$f is missing"
done

echo "installing mirrorgate-agent under ${root:-/} (runs as $user, iris from $iris_bin)"
install -d -m 0755 "$root/usr/local/bin" "$root/etc/mirrorgate" "$root/etc/systemd/system" \
    "$root/usr/local/share/mirrorgate/iris"
install -m 0755 "$binary" "$root/usr/local/bin/mirrorgate-agent"
if [ -e "$root/etc/mirrorgate/agent.toml" ]; then
    echo "kept the existing $root/etc/mirrorgate/agent.toml"
else
    install -m 0644 "$here/agent.toml" "$root/etc/mirrorgate/agent.toml"
    echo "wrote $root/etc/mirrorgate/agent.toml: edit mirror, member, instance, product, region, event_bus"
fi
sed -e "s|@USER@|$user|" -e "s|@IRIS_BIN@|$iris_bin|" "$here/mirrorgate-agent.service" \
    >"$root/etc/systemd/system/mirrorgate-agent.service"
chmod 0644 "$root/etc/systemd/system/mirrorgate-agent.service"
install -m 0644 "$routines/ZMIRRORGATE.mac" "$routines/ZMIRROR.mac" "$root/usr/local/share/mirrorgate/iris/"
# The log of the agent runs that ^ZMIRROR starts (NotifyBecomePrimary).
install -d -m 0755 "$root/var/log/mirrorgate"
if [ -z "$root" ]; then
    chown "$user" /var/log/mirrorgate
fi

if [ -z "$root" ]; then
    systemctl daemon-reload
fi
cat <<NEXT
next:
  1. edit /etc/mirrorgate/agent.toml
  2. load the routines into %SYS (iris/README.md), from /usr/local/share/mirrorgate/iris
  3. sudo -u $user /usr/local/bin/mirrorgate-agent --check
  4. systemctl enable --now mirrorgate-agent; journalctl -u mirrorgate-agent
NEXT
