#!/usr/bin/env bash
# Prepares a Debian machine for the test suite: the tools and database servers the tests use,
# installed with apt-get when missing and started when not running. Idempotent; needs root for
# installs (it says so and stops when it is not root and something is missing).
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have rsync || need_pkgs+=(rsync)
have restic || need_pkgs+=(restic)
have borg || need_pkgs+=(borgbackup)
have qemu-img || need_pkgs+=(qemu-utils)
have mysqldump || need_pkgs+=(mariadb-client)
have mariadbd || [ -x /usr/sbin/mariadbd ] || need_pkgs+=(mariadb-server)
have pg_dumpall || need_pkgs+=(postgresql-client)
have pgbench || need_pkgs+=(postgresql-contrib)
ls /etc/postgresql/*/main >/dev/null 2>&1 || need_pkgs+=(postgresql)
have strace || need_pkgs+=(strace)
have /usr/bin/time || [ -x /usr/bin/time ] || need_pkgs+=(time)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test-env: missing Debian packages: ${need_pkgs[*]}; run this script as root (or: sudo apt-get install -y ${need_pkgs[*]})" >&2
    exit 1
  fi
  echo "test-env: installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with trust auth for local TCP connections (the tests create and drop
# their own databases as user postgres).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  echo "test-env: starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "test-env: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
  echo "test-env: cannot connect to PostgreSQL as postgres on 127.0.0.1 without a password; allow trust auth for 127.0.0.1 in pg_hba.conf" >&2
  exit 1
fi

# MariaDB on 127.0.0.1:3306, root with an empty password.
if ! mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1; then
  echo "test-env: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 30); do mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1 && break; sleep 1; done
fi
mariadb-admin -h 127.0.0.1 -u root ping >/dev/null 2>&1 || { echo "test-env: MariaDB is not answering on 127.0.0.1:3306 as root" >&2; exit 1; }
echo "test-env: ready (rsync, restic, borg, qemu-img, mysqldump, pg_dumpall; PostgreSQL and MariaDB up)"
