# Shared by Vigil's shipped responses: option and argument parsing, address checks, logging.
# Each response sources this file from its own folder; nothing here runs by itself.

# Prints a message on stderr, which execd records in its log.
vigil_log() {
  printf '%s: %s\n' "${VIGIL_PROGRAM}" "$*" >&2
}

vigil_fail() {
  vigil_log "$*"
  exit 1
}

# Reads KEY=VALUE lines from a settings file into variables named VIGIL_OPT_<KEY>. Lines that
# are empty or start with '#' are skipped; nothing in the file is executed.
vigil_read_settings() {
  local file=$1 line key value
  [[ -r "$file" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "${line//[[:space:]]/}" || "$line" == \#* ]] && continue
    key=${line%%=*}
    value=${line#*=}
    key=${key//[[:space:]]/}
    value=${value#"${value%%[![:space:]]*}"}
    value=${value%"${value##*[![:space:]]}"}
    if [[ ! "$key" =~ ^[a-z0-9_]+$ || "$line" != *=* ]]; then
      vigil_fail "invalid line in $file: '$line' (expected key=value)"
    fi
    printf -v "VIGIL_OPT_${key}" '%s' "$value"
  done < "$file"
}

# Checks that $1 is one IPv4 or IPv6 address (execd has already normalised it).
vigil_is_address() {
  local address=$1
  if [[ "$address" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]]; then
    local octet
    for octet in "${BASH_REMATCH[@]:1}"; do
      (( 10#$octet <= 255 )) || return 1
    done
    return 0
  fi
  [[ "$address" =~ ^[0-9a-fA-F:.]+$ && "$address" == *:*:* && ${#address} -le 45 ]]
}

vigil_is_ipv6() {
  [[ "$1" == *:* ]]
}

# Sets ACTION, USER_NAME and SRCIP from OSSEC's argument list:
#   add|delete USER SRCIP [ALERT_ID RULE_ID LOCATION FILENAME]
vigil_parse_arguments() {
  (( $# >= 3 )) || vigil_fail "expected 'add|delete USER SRCIP ...', got $# arguments (see --help)"
  ACTION=$1
  USER_NAME=$2
  SRCIP=$3
  case "$ACTION" in
    add | delete) ;;
    *) vigil_fail "invalid action '$ACTION': expected add or delete" ;;
  esac
}
