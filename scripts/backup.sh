#!/usr/bin/env bash
# herald-backup: back up, check and restore Herald's database and media.
#
#   herald-backup create [DIR]              archive the database and DATA_DIR/media into DIR
#                                           (default ${BACKUP_DIR:-$DATA_DIR/backups}); prints its path
#   herald-backup verify ARCHIVE            check an archive is complete and readable
#   herald-backup restore ARCHIVE [--force] replace the database and DATA_DIR/media with an archive's
#
# DATABASE_URL and DATA_DIR are read as Herald reads them: the environment first, then ./.env,
# then the defaults (sqlite://data/herald.db, ./data). Installed in the image as
# /app/bin/herald-backup, so it stands alone: nothing here may depend on the repository.
#
# Nothing is ever half-written: every file is built under a temporary name beside its destination
# and renamed into place, and temporaries are removed on any failure.

set -euo pipefail

readonly PROG=herald-backup
readonly FORMAT=1
# Uploads still arriving (DATA_DIR/media/tmp) are not part of any backup.
readonly UPLOAD_TMP=tmp

usage() {
  cat >&2 <<'EOF'
usage: herald-backup create [DIR]
       herald-backup verify ARCHIVE
       herald-backup restore ARCHIVE [--force]

  create   writes herald-<UTC time>.tar.gz (database, DATA_DIR/media, manifest) into DIR,
           by default ${BACKUP_DIR:-$DATA_DIR/backups}, and prints its path. Safe while Herald runs.
  verify   checks an archive is complete and readable and prints what it holds.
  restore  replaces the database and DATA_DIR/media with the archive's, after writing a safety
           backup of the current state. Herald must be stopped; --force skips the PostgreSQL
           check for other connected sessions.

DATABASE_URL and DATA_DIR come from the environment, else ./.env, else the defaults
(sqlite://data/herald.db and ./data).
EOF
  exit 2
}

# --- messages -------------------------------------------------------------------------------------

# The password of a PostgreSQL URL, once known, so no message can ever show it.
SECRET=""

redact() {
  local text=$1
  if [[ -n $SECRET ]]; then text=${text//"$SECRET"/***}; fi
  printf '%s' "$text"
}

say() { printf '%s: %s\n' "$PROG" "$(redact "$*")" >&2; }
die() {
  say "$*"
  exit 1
}

# A URL with its password masked (user info or a password= parameter), for messages.
mask_url() {
  sed -E 's#^([a-z]+://[^/@:]*:)[^/@]*@#\1***@#; s#([?&]password=)[^&]*#\1***#g' <<<"$1"
}

# --- temporaries ----------------------------------------------------------------------------------

TEMPS=()
# Set while the media directory is moved aside, so an interruption puts it back.
MEDIA_DIR_ASIDE=""
MEDIA_DIR_LIVE=""

cleanup() {
  if [[ -n $MEDIA_DIR_ASIDE && -e $MEDIA_DIR_ASIDE && ! -e $MEDIA_DIR_LIVE ]]; then
    mv -T -- "$MEDIA_DIR_ASIDE" "$MEDIA_DIR_LIVE" || true
  fi
  local t
  for t in "${TEMPS[@]}"; do rm -rf -- "$t"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Runs a command with its stderr kept aside; on failure, dies with `what` and the command's own
# first error line (or its last line), so the operator sees one line saying why.
ERR_LOG=""
quietly() {
  local what=$1
  shift
  if "$@" 2>"$ERR_LOG"; then return 0; fi
  local reason
  reason=$(grep -m1 -iE 'error|fatal|failed|unable|cannot|corrupt|unexpected|not a' "$ERR_LOG" || true)
  [[ -n $reason ]] || reason=$(grep -v '^[[:space:]]*$' "$ERR_LOG" | tail -n 1 || true)
  die "$what${reason:+: $reason}"
}

# --- tools ----------------------------------------------------------------------------------------

need() {
  local tool package=$1
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (Debian package: $package)"
  done
}

need_for_kind() {
  case $1 in
    sqlite) need sqlite3 sqlite3 ;;
    postgres) need postgresql-client pg_dump pg_restore psql ;;
  esac
}

# --- configuration --------------------------------------------------------------------------------

# The value of KEY in ./.env, if the file sets it: KEY=VALUE lines, `export ` allowed, values
# optionally quoted, comments and blank lines ignored. Read, never sourced: it is data, not code.
dotenv_value() {
  local key=$1 line k v found=1
  [[ -f .env ]] || return 1
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]] || continue
    k=${BASH_REMATCH[2]}
    v=${BASH_REMATCH[3]}
    [[ $k == "$key" ]] || continue
    if [[ $v =~ ^\"(.*)\"[[:space:]]*(#.*)?$ || $v =~ ^\'(.*)\'[[:space:]]*(#.*)?$ ]]; then
      v=${BASH_REMATCH[1]}
    else
      v=${v%%[[:space:]]#*}
      v=${v%"${v##*[![:space:]]}"}
    fi
    DOTENV_VALUE=$v # the last assignment wins, as for Herald
    found=0
  done <.env
  return "$found"
}

# Herald's lookup: the environment if the variable is set, else ./.env; blank counts as unset.
setting() {
  local key=$1 default=$2 value=""
  if [[ -n ${!key+set} ]]; then
    value=${!key}
  elif dotenv_value "$key"; then
    value=$DOTENV_VALUE
  fi
  value=${value#"${value%%[![:space:]]*}"}
  value=${value%"${value##*[![:space:]]}"}
  printf '%s' "${value:-$default}"
}

# Sets KIND (sqlite|postgres), DB_URL, DB_PATH (SQLite), DATA_DIR and BACKUP_DEFAULT_DIR.
load_config() {
  DB_URL=$(setting DATABASE_URL sqlite://data/herald.db)
  DATA_DIR=$(setting DATA_DIR ./data)
  BACKUP_DEFAULT_DIR=$(setting BACKUP_DIR "$DATA_DIR/backups")
  DB_PATH=""
  case $DB_URL in
    sqlite:*)
      KIND=sqlite
      local rest=${DB_URL#sqlite:}
      rest=${rest#//}
      if [[ $rest == :memory:* || $DB_URL == *mode=memory* ]]; then
        die "DATABASE_URL is an in-memory SQLite database ($DB_URL): there is nothing on disk to back up or restore"
      fi
      DB_PATH=${rest%%\?*}
      [[ -n $DB_PATH ]] || die "DATABASE_URL is a sqlite URL without a path; expected sqlite://<path>"
      ;;
    postgres://* | postgresql://*)
      KIND=postgres
      # The password goes to pg_dump, pg_restore and psql in PGPASSWORD, never on their command
      # lines: those are in the host's process table, for every local user to read.
      local in_userinfo='^([a-z]+://[^/@:]*):([^/@]*)@(.*)$'
      local in_query='^([^?]*[?](.*&)?)password=([^&]*)&?(.*)$'
      if [[ $DB_URL =~ $in_userinfo ]]; then
        SECRET=${BASH_REMATCH[2]}
        DB_URL="${BASH_REMATCH[1]}@${BASH_REMATCH[3]}"
      elif [[ $DB_URL =~ $in_query ]]; then
        SECRET=${BASH_REMATCH[3]}
        DB_URL="${BASH_REMATCH[1]}${BASH_REMATCH[4]}"
        DB_URL=${DB_URL%[?&]}
      fi
      if [[ -n $SECRET ]]; then
        # URLs percent-encode the password; libpq wants it plain.
        printf -v PGPASSWORD '%b' "${SECRET//%/\\x}"
        export PGPASSWORD
      fi
      ;;
    *) die "DATABASE_URL must be sqlite://<path> or postgres://user@host/db" ;;
  esac
}

# How messages name the configured database.
db_name() {
  if [[ $KIND == sqlite ]]; then printf '%s' "$DB_PATH"; else mask_url "$DB_URL"; fi
}

# One value from PostgreSQL (psql reads no ~/.psqlrc, stops at the first error).
pg_value() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB_URL" -c "$1"
}

# --- manifest -------------------------------------------------------------------------------------

manifest_get() { # FILE KEY
  sed -n "s/^$2=//p" "$1" | tail -n 1
}

# The last applied migration of a SQLite file, or nothing for a database without Herald's schema.
sqlite_schema() {
  local has
  has=$(sqlite3 -bail -batch "$1" "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'")
  [[ $has == 0 ]] || sqlite3 -bail -batch "$1" "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1"
}

pg_schema() {
  local has
  has=$(pg_value "SELECT count(*) FROM pg_tables WHERE tablename = 'seaql_migrations' AND schemaname = current_schema()")
  [[ $has == 0 ]] || pg_value "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1"
}

count_files() {
  find "$1" -type f | wc -l | tr -d ' '
}

# --- create ---------------------------------------------------------------------------------------

# Writes an archive of the current state into DIR; sets CREATED_ARCHIVE. `tag` is appended to the
# name (the safety backup of a restore is told apart by it).
create_archive() {
  local dir=$1 tag=${2:-}
  need coreutils mktemp
  need tar tar
  need gzip gzip
  need_for_kind "$KIND"
  if [[ $KIND == sqlite && ! -f $DB_PATH ]]; then
    die "no SQLite database at $DB_PATH (check DATABASE_URL, and the working directory for a relative path)"
  fi
  mkdir -p -- "$dir" 2>/dev/null || die "cannot create the backup directory $dir"
  [[ -w $dir ]] || die "cannot write to the backup directory $dir"
  dir=$(cd -- "$dir" && pwd) # the path printed must work from any directory

  local now stamp created
  now=$(date -u +%s)
  stamp=$(date -u -d "@$now" +%Y%m%dT%H%M%SZ)
  created=$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)
  local base="herald-$stamp$tag" n=1
  while [[ -e $dir/$base.tar.gz ]]; do
    n=$((n + 1))
    base="herald-$stamp$tag-$n"
  done

  local staging top
  staging=$(mktemp -d "$dir/.herald-backup.XXXXXX")
  TEMPS+=("$staging")
  top=$staging/$base
  mkdir "$top"

  local schema db_file
  if [[ $KIND == sqlite ]]; then
    db_file=$top/database.sqlite
    say "copying the SQLite database $DB_PATH"
    # VACUUM INTO copies one read transaction's snapshot: consistent while Herald writes (WAL
    # readers never block), and unlike the backup API it never restarts when a write lands.
    local escaped=${db_file//\'/\'\'}
    quietly "copying the SQLite database $DB_PATH failed" \
      sqlite3 -bail -batch -cmd ".timeout 30000" "$DB_PATH" "VACUUM INTO '$escaped'"
    local check
    check=$(sqlite3 -bail -batch "$db_file" "PRAGMA integrity_check" 2>&1 || true)
    [[ $check == ok ]] || die "the copy of $DB_PATH fails SQLite's integrity check: ${check%%$'\n'*}"
    schema=$(sqlite_schema "$db_file")
  else
    db_file=$top/database.pgdump
    say "dumping the PostgreSQL database $(db_name)"
    schema=$(quietly "cannot read the schema version from $(db_name)" pg_schema)
    quietly "pg_dump of $(db_name) failed" \
      pg_dump --format=custom --no-owner --no-acl --file="$db_file" --dbname="$DB_URL"
  fi

  # Media files never change once stored, so hard links are a true snapshot that costs no
  # space; across filesystems they are copied.
  local media=$DATA_DIR/media
  if [[ -d $media ]]; then
    say "copying media from $media"
    if ! cp -al -- "$media" "$top/media" 2>/dev/null; then
      rm -rf -- "${top:?}/media"
      quietly "copying $media failed" cp -a -- "$media" "$top/media"
    fi
    rm -rf -- "${top:?}/media/$UPLOAD_TMP"
  else
    mkdir "$top/media"
  fi
  local media_files
  media_files=$(count_files "$top/media")
  CREATED_MEDIA=$media_files

  cat >"$top/manifest" <<EOF
format=$FORMAT
kind=$KIND
created=$created
schema=$schema
media_files=$media_files
EOF

  local part
  part=$(mktemp "$dir/.herald-backup.XXXXXX.part")
  TEMPS+=("$part")
  quietly "writing the archive failed" tar -C "$staging" -czf "$part" "$base"
  sync -- "$part" 2>/dev/null || true
  # Never overwrite: ln refuses an existing name, so a backup made in the same second by another
  # process takes the next suffix instead of replacing this one.
  local final=$dir/$base.tar.gz
  while ! ln -T -- "$part" "$final" 2>/dev/null; do
    if [[ -e $final ]]; then
      n=$((n + 1))
      final=$dir/herald-$stamp$tag-$n.tar.gz
    else # no hard links on this filesystem: a plain rename
      mv -T -- "$part" "$final"
      break
    fi
  done
  rm -f -- "$part"
  rm -rf -- "$staging"
  CREATED_ARCHIVE=$final
}

cmd_create() {
  [[ $# -le 1 ]] || usage
  load_config
  create_archive "${1:-$BACKUP_DEFAULT_DIR}"
  say "wrote a $KIND backup of $(db_name) and $CREATED_MEDIA media files"
  printf '%s\n' "$CREATED_ARCHIVE"
}

# --- verify ---------------------------------------------------------------------------------------

# Extracts ARCHIVE into a new temporary directory under PARENT and checks it; sets TOP (the
# extracted directory) and the manifest's M_KIND, M_CREATED, M_SCHEMA, M_MEDIA.
# `expected_kind`, when given, is checked before the database is, so a backup of the other kind
# is refused for what it is.
open_archive() {
  local archive=$1 parent=$2 expected_kind=${3:-}
  need tar tar
  need gzip gzip
  [[ -f $archive ]] || die "no archive at $archive"
  [[ -r $archive ]] || die "cannot read $archive"

  local listing
  listing=$(quietly "$archive is not a readable .tar.gz (truncated or corrupt?)" tar -tzf "$archive")
  local name
  name=$(head -n 1 <<<"$listing")
  name=${name%%/*}
  [[ -n $name && $name != . && $name != .. ]] || die "$archive is not a Herald backup (no top directory)"
  # One top directory and nothing outside it: extraction cannot write anywhere else.
  # Compared as plain strings: the name comes from the archive, so it is data, never a pattern.
  if ! awk -v top="$name" '
      $0 != top && index($0, top "/") != 1 { exit 1 }
      /(^|\/)\.\.(\/|$)/ { exit 1 }' <<<"$listing"; then
    die "$archive is not a Herald backup (entries outside its top directory)"
  fi
  grep -qxF "$name/manifest" <<<"$listing" || die "$archive is not a Herald backup (no manifest)"

  mkdir -p -- "$parent" 2>/dev/null || die "cannot create $parent"
  local tmp
  tmp=$(mktemp -d "$parent/.herald-restore.XXXXXX")
  TEMPS+=("$tmp")
  quietly "extracting $archive failed" tar -C "$tmp" -xzf "$archive"
  TOP=$tmp/$name

  local manifest=$TOP/manifest
  local format
  format=$(manifest_get "$manifest" format)
  [[ $format == "$FORMAT" ]] ||
    die "$archive has backup format '${format}'; this herald-backup reads format $FORMAT"
  M_KIND=$(manifest_get "$manifest" kind)
  M_CREATED=$(manifest_get "$manifest" created)
  M_SCHEMA=$(manifest_get "$manifest" schema)
  M_MEDIA=$(manifest_get "$manifest" media_files)
  case $M_KIND in sqlite | postgres) ;; *) die "$archive has an unknown database kind '$M_KIND'" ;; esac
  [[ $M_MEDIA =~ ^[0-9]+$ ]] || die "$archive's manifest has no media_files count"

  if [[ -n $expected_kind && $M_KIND != "$expected_kind" ]]; then
    local target
    target=$([[ $expected_kind == sqlite ]] && echo "a SQLite database ($(db_name))" || echo "a PostgreSQL database ($(db_name))")
    die "$archive is a $M_KIND backup, but DATABASE_URL names $target; a backup restores only into the kind of database it was made from"
  fi
  need_for_kind "$M_KIND"

  if [[ $M_KIND == sqlite ]]; then
    [[ -f $TOP/database.sqlite ]] || die "$archive is incomplete (no database.sqlite)"
    local check
    check=$(sqlite3 -bail -batch "$TOP/database.sqlite" "PRAGMA integrity_check" 2>&1 || true)
    [[ $check == ok ]] || die "$archive's database fails SQLite's integrity check: ${check%%$'\n'*}"
    local schema
    schema=$(sqlite_schema "$TOP/database.sqlite")
    [[ $schema == "$M_SCHEMA" ]] ||
      die "$archive's database is at schema '$schema' but its manifest says '$M_SCHEMA'"
  else
    [[ -f $TOP/database.pgdump ]] || die "$archive is incomplete (no database.pgdump)"
    # Decodes every block, not just the table of contents.
    quietly "$archive's PostgreSQL dump is not readable" pg_restore --file=/dev/null "$TOP/database.pgdump"
  fi

  [[ -d $TOP/media ]] || die "$archive is incomplete (no media directory)"
  # Herald stores plain files only; a link could point a restore outside DATA_DIR.
  [[ -z $(find "$TOP" -type l -print -quit) ]] || die "$archive is not a Herald backup (it holds symbolic links)"
  local media
  media=$(count_files "$TOP/media")
  [[ $media == "$M_MEDIA" ]] ||
    die "$archive is incomplete: its manifest lists $M_MEDIA media files, it holds $media"
}

cmd_verify() {
  [[ $# -eq 1 ]] || usage
  # Unpacked beside the archive: in the container /tmp is a small tmpfs that counts against the
  # memory limit, and an archive's media can be large.
  local parent
  parent=$(dirname -- "$1")
  [[ -w $parent ]] || parent=${TMPDIR:-/tmp}
  open_archive "$1" "$parent"
  printf 'kind=%s\ncreated=%s\nschema=%s\nmedia_files=%s\n' "$M_KIND" "$M_CREATED" "$M_SCHEMA" "$M_MEDIA"
  say "$1 is complete and readable"
}

# --- restore --------------------------------------------------------------------------------------

cmd_restore() {
  local archive="" force=0 arg
  for arg in "$@"; do
    case $arg in
      --force) force=1 ;;
      -*) usage ;;
      *) [[ -z $archive ]] || usage; archive=$arg ;;
    esac
  done
  [[ -n $archive ]] || usage
  load_config
  need_for_kind "$KIND"
  [[ $KIND == postgres ]] || need util-linux flock

  # The archive is checked in full before anything is touched. It is extracted inside DATA_DIR
  # so its media can be renamed into place.
  mkdir -p -- "$DATA_DIR" 2>/dev/null || die "cannot create DATA_DIR $DATA_DIR"
  open_archive "$archive" "$DATA_DIR" "$KIND"

  # Herald must be stopped: a process writing mid-restore would mix two states, and one holding
  # the old file open would go on writing to it.
  if [[ $KIND == sqlite ]]; then
    local db_dir lock
    db_dir=$(dirname -- "$DB_PATH")
    mkdir -p -- "$db_dir" 2>/dev/null || die "cannot create $db_dir"
    # Every running server and worker holds this one shared; held here exclusively until the
    # script exits, so neither can start while the files are swapped.
    lock=$DB_PATH.in-use.lock
    exec {IN_USE_FD}>>"$lock" || die "cannot open $lock"
    flock -n -x "$IN_USE_FD" ||
      die "Herald is running on $DB_PATH (a server or worker holds $lock); stop it (server and worker) before restoring"
  else
    local others
    others=$(quietly "cannot connect to $(db_name)" pg_value \
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
    if [[ $others != 0 ]]; then
      if [[ $force == 1 ]]; then
        say "restoring although $others other session(s) are connected to $(db_name) (--force)"
      else
        die "$others other session(s) are connected to $(db_name); stop Herald (server and worker) before restoring, or pass --force"
      fi
    fi
  fi

  # A safety backup of what is about to be replaced, unless there is nothing yet.
  if [[ $KIND == sqlite && ! -f $DB_PATH ]]; then
    say "no database at $DB_PATH yet: no safety backup needed"
  else
    create_archive "$BACKUP_DEFAULT_DIR" -pre-restore
    say "safety backup of the current state: $CREATED_ARCHIVE"
  fi

  # Media first into a directory beside the live one: a failure up to the database restore
  # leaves everything as it was.
  local media=$DATA_DIR/media staged=$DATA_DIR/media.restoring-$$
  rm -rf -- "$staged"
  TEMPS+=("$staged")
  mv -T -- "$TOP/media" "$staged"

  if [[ $KIND == sqlite ]]; then
    local tmp_db
    tmp_db=$(mktemp "$(dirname -- "$DB_PATH")/.herald-restore.XXXXXX")
    TEMPS+=("$tmp_db")
    quietly "copying the database into place failed" cp -- "$TOP/database.sqlite" "$tmp_db"
    if [[ -f $DB_PATH ]]; then chmod --reference="$DB_PATH" -- "$tmp_db" 2>/dev/null || true; fi
    sync -- "$tmp_db" 2>/dev/null || true
    # The old database's journal and WAL would be replayed into the new file: remove them first.
    rm -f -- "$DB_PATH-wal" "$DB_PATH-shm" "$DB_PATH-journal"
    mv -fT -- "$tmp_db" "$DB_PATH"
  else
    restore_postgres "$TOP/database.pgdump"
  fi

  # Swap the media directories; the old one goes only once the new one is in place.
  if [[ -e $media ]]; then
    local aside=$DATA_DIR/media.old-$$
    rm -rf -- "$aside"
    MEDIA_DIR_LIVE=$media
    MEDIA_DIR_ASIDE=$aside
    mv -T -- "$media" "$aside"
    mv -T -- "$staged" "$media"
    MEDIA_DIR_ASIDE=""
    rm -rf -- "$aside"
  else
    mv -T -- "$staged" "$media"
  fi

  say "restored the $M_KIND database $(db_name) (schema ${M_SCHEMA:-none}, backed up $M_CREATED) and $M_MEDIA media files into $media from $archive"
}

# Restores a pg_dump archive in one transaction. Tables the current database has and the backup
# does not (from a migration newer than the backup) are dropped in the same transaction: left in
# place, they would make that migration fail when Herald next starts.
restore_postgres() {
  local dump=$1 dir
  dir=$(dirname -- "$dump")
  local wanted current pre=$dir/pre.sql script=$dir/restore.sql
  wanted=$(pg_restore --list "$dump" | awk '$4 == "TABLE" && $5 != "DATA" { print $5 "." $6 }' | sort -u)
  current=$(quietly "cannot list the tables of $(db_name)" pg_value \
    "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" | sort -u)
  : >"$pre"
  local table
  while IFS= read -r table; do
    [[ -n $table ]] || continue
    printf 'DROP TABLE IF EXISTS "%s"."%s" CASCADE;\n' "${table%%.*}" "${table#*.}" >>"$pre"
  done < <(comm -13 <(printf '%s\n' "$wanted") <(printf '%s\n' "$current"))

  quietly "reading the PostgreSQL dump failed" \
    pg_restore --clean --if-exists --no-owner --no-acl --file="$script" "$dump"
  say "restoring the PostgreSQL database $(db_name)"
  quietly "restoring $(db_name) failed (nothing was changed)" \
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -o /dev/null -d "$DB_URL" -f "$pre" -f "$script"
}

# --- main -----------------------------------------------------------------------------------------

main() {
  [[ $# -ge 1 ]] || usage
  ERR_LOG=$(mktemp "${TMPDIR:-/tmp}/herald-backup.XXXXXX") || die "cannot create a temporary file"
  TEMPS+=("$ERR_LOG")
  local command=$1
  shift
  case $command in
    create) cmd_create "$@" ;;
    verify) cmd_verify "$@" ;;
    restore) cmd_restore "$@" ;;
    *) usage ;;
  esac
}

main "$@"
