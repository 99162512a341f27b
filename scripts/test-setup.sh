#!/usr/bin/env bash
# What the tests need from this machine beyond Python and npm packages:
#   install  Debian's chromium (browser tests), a CJK font (screenshots, PDFs), poppler's
#            pdftotext (reading generated PDFs back) and PostGIS
#   services start PostgreSQL, NATS (JetStream), Mosquitto and Redis if one is down
set -euo pipefail

need_packages=()
for package in chromium fonts-noto-cjk poppler-utils postgresql-15-postgis-3; do
  dpkg -s "$package" >/dev/null 2>&1 || need_packages+=("$package")
done

install() {
  if ((${#need_packages[@]})); then
    echo "test set-up: installing ${need_packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
  echo "test set-up: $2 did not come up on port $1" >&2
  return 1
}

services() {
  if ! port_open 5432; then
    echo "test set-up: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    wait_port 5432 PostgreSQL
  fi
  if ! port_open 4222; then
    echo "test set-up: starting NATS with JetStream"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    wait_port 4222 NATS
  fi
  if ! port_open 1883; then
    echo "test set-up: starting Mosquitto"
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
    wait_port 1883 Mosquitto
  fi
  if ! port_open 6379; then
    echo "test set-up: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_port 6379 Redis
  fi
}

# What the running platform itself needs (make run): the CJK font its PDF reports embed.
fonts() {
  if ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
    echo "set-up: installing fonts-noto-cjk (Chinese text in PDF reports)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends fonts-noto-cjk >/dev/null; } \
      || echo "set-up: could not install fonts-noto-cjk; PDF reports will ask for Excel" >&2
  fi
}

case "${1:-all}" in
  fonts) fonts ;;
  install) install ;;
  services) services ;;
  all) install; services ;;
  *) echo "usage: $0 [fonts|install|services|all]" >&2; exit 2 ;;
esac
