#!/usr/bin/env bash
# A private OpenLDAP slapd in DIR for tests and the demo (recipe: shared RABBITMQ-RECIPES.md §3).
#   start DIR PORT   listens on ldap://127.0.0.1:PORT/ only; seeds a fresh DIR (see below)
#   stop DIR         the caller removes DIR
# Suffix dc=example,dc=test; rootdn cn=admin,dc=example,dc=test with password $SLAPD_ROOTPW, or a
# generated one; either way it is in DIR/rootpw (mode 600, no newline: `ldapadd -y` reads it whole).
# Seed: ou=people with alice, bob, carol (inetOrgPerson, password <uid>-pw, mail <uid>@example.org),
# ou=groups with cn=psf-admins (groupOfNames, member carol). Anonymous users may bind and read all
# but passwords. Needs the slapd and ldap-utils packages (scripts/services.sh).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# ldap-utils would read /etc/ldap/ldap.conf and ~/.ldaprc (BASE, URI, TLS): take only what we pass.
export LDAPNOINIT=1

# shellcheck source=pid-daemon.sh
. "$(dirname "$0")/pid-daemon.sh"
instance_front slapd-instance slapd "start DIR PORT | stop DIR" "$@"
suffix=dc=example,dc=test
rootdn=cn=admin,$suffix
[ $# -eq 3 ] && [[ $3 =~ ^[0-9]+$ ]] || die "usage: $0 start DIR PORT"
port=$3
url=ldap://127.0.0.1:$port/
command -v slapd > /dev/null && command -v ldapadd > /dev/null ||
  die "slapd or ldapadd missing: run scripts/services.sh"

# A restart must pick up a new port: stop a running instance first.
mkdir -p "$dir"
stop_instance

(
  umask 077
  if [ -n "${SLAPD_ROOTPW:-}" ]; then
    printf '%s' "$SLAPD_ROOTPW" > "$dir/rootpw"
  elif [ ! -s "$dir/rootpw" ]; then
    head -c 18 /dev/urandom | base64 | tr -d '\n/+=' > "$dir/rootpw"
  fi
  # Hashed, so the config holds no password; slapd.conf 600 all the same.
  cat > "$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $dir/slapd.pid
database mdb
suffix "$suffix"
rootdn "$rootdn"
rootpw $(slappasswd -T "$dir/rootpw")
directory $dir/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
CONF
)
mkdir -p -m 700 "$dir/db"

# In the foreground (-d), in the background: -d 32768 logs errors only (e.g. the port is taken) to
# DIR/slapd.log, where the forking slapd would send them to syslog. It runs as the caller (no -u):
# DIR needs no other reader.
setsid slapd -d 32768 -f "$dir/slapd.conf" -h "$url" > "$dir/slapd.log" 2>&1 < /dev/null &
pid=$!
up() { ldapsearch -x -H "$url" -o nettimeout=2 -b '' -s base namingContexts > /dev/null 2>&1; }
for _ in $(seq 100); do
  up && break
  alive "$pid" || break
  sleep 0.1
done
if ! up; then
  echo "slapd-instance: slapd did not answer on $url; $dir/slapd.log:" >&2
  tail -n 20 "$dir/slapd.log" >&2 || true
  kill -TERM "$pid" 2>/dev/null || true
  exit 1
fi

# A restarted DIR keeps its tree.
ldapsearch -x -H "$url" -b "$suffix" -s base dn > /dev/null 2>&1 && exit 0
user() { # uid given-name
  printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s Example\n' "$1" "$suffix" "$1" "$2"
  printf 'sn: Example\ngivenName: %s\nmail: %s@example.org\nuserPassword: %s\n\n' "$2" "$1" "$(slappasswd -s "$1-pw")"
}
{
  cat <<LDIF
dn: $suffix
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people

dn: ou=groups,$suffix
objectClass: organizationalUnit
ou: groups

LDIF
  user alice Alice
  user bob Bob
  user carol Carol
  cat <<LDIF
dn: cn=psf-admins,ou=groups,$suffix
objectClass: groupOfNames
cn: psf-admins
member: uid=carol,ou=people,$suffix
LDIF
} | ldapadd -x -H "$url" -D "$rootdn" -y "$dir/rootpw" > /dev/null ||
  die "seeding the tree on $url failed"
