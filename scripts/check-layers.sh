#!/usr/bin/env bash
# The layering check (design.md §2): every #include under src/ against the allowed table in
# cmake/layers.txt. Fails, naming file:line, on
#   - an include of another module's header that the including module's row does not list,
#   - an include of a folder private to another module (store/sqlite/, flows/detail/, ...),
#   - a confined third-party header (Beast/Asio, CLI11, toml++, ...) outside its module,
#   - a quoted include that climbs out of its directory ("../x.hpp") or names no module,
# and on a table that is not a DAG or misses a module. A table arrow that nothing uses is
# reported but not an error. scripts/test.sh runs this before the build; ctest runs it too. The
# build side of the same table (each module exports only its own headers and links exactly its
# row) is cmake/layers.cmake.
#
#   bash scripts/check-layers.sh                 # check this repository
#   bash scripts/check-layers.sh --root DIR      # check DIR/src against DIR/cmake/layers.txt
#   bash scripts/check-layers.sh --self-test     # prove that wrong includes fail (tests/layers)
#
# Bash and grep only (what CI already has).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
self_test=0
quiet=0
while (($#)); do
  case $1 in
    --root) root=$2; shift 2 ;;
    --self-test) self_test=1; shift ;;
    --quiet) quiet=1; shift ;;
    *) echo "check-layers: unknown argument $1" >&2; exit 2 ;;
  esac
done

# ---- the self-test: a copy of this tree, one wrong include at a time --------------------------
if ((self_test)); then
  exec bash "$root/tests/layers/self_test.sh" "$root"
fi

table=$root/cmake/layers.txt
if [[ ! -f $table ]]; then
  echo "check-layers: $table not found" >&2
  exit 2
fi

declare -A deps=()       # module -> " dep dep " (spaces around every name)
declare -A used=()       # "module dep" -> 1 when some include uses the arrow
declare -a modules=()
declare -a private_dirs=() private_owners=()
declare -a header_res=() header_globs=()
errors=0

fail() {
  echo "$1" >&2
  errors=$((errors + 1))
}

lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  [[ $line =~ ^[[:space:]]*$ ]] && continue
  if [[ $line =~ ^private:[[:space:]]+([^[:space:]]+)[[:space:]]+([a-z_]+)[[:space:]]*$ ]]; then
    private_dirs+=("${BASH_REMATCH[1]%/}")
    private_owners+=("${BASH_REMATCH[2]}")
  elif [[ $line =~ ^header:[[:space:]]+([^[:space:]]+)[[:space:]]+(.+)$ ]]; then
    header_res+=("${BASH_REMATCH[1]}")
    header_globs+=("${BASH_REMATCH[2]}")
  elif [[ $line =~ ^([a-z_]+):(.*)$ ]]; then
    name=${BASH_REMATCH[1]}
    read -ra list <<<"${BASH_REMATCH[2]}"
    if [[ -n ${deps[$name]+set} ]]; then
      fail "cmake/layers.txt:$lineno: module $name has two rows"
      deps[$name]="${deps[$name]}${list[*]} "
    else
      modules+=("$name")
      deps[$name]=" ${list[*]} "
    fi
  else
    fail "cmake/layers.txt:$lineno: cannot read this line: $line"
  fi
done <"$table"

is_module() { [[ -n ${deps[$1]+set} ]]; }

# The table itself: known modules only, every src/ module listed, no cycle.
for m in "${modules[@]}"; do
  for d in ${deps[$m]}; do
    is_module "$d" || fail "cmake/layers.txt: $m -> $d: $d is not a module (no row of its own)"
    [[ $d == "$m" ]] && fail "cmake/layers.txt: $m lists itself"
  done
done
for dir in "$root"/src/*/; do
  m=$(basename "$dir")
  is_module "$m" || fail "src/$m/ is not a module of cmake/layers.txt: give it a row"
done
declare -A done_=()
remaining=("${modules[@]}")
while ((${#remaining[@]})); do
  next=()
  for m in "${remaining[@]}"; do
    ready=1
    for d in ${deps[$m]}; do
      if is_module "$d" && [[ -z ${done_[$d]+set} && $d != "$m" ]]; then
        ready=0
      fi
    done
    if ((ready)); then done_[$m]=1; else next+=("$m"); fi
  done
  if ((${#next[@]} == ${#remaining[@]})); then
    # Left: the cycles and what depends on them. Peel off what nothing left depends on.
    while :; do
      keep=()
      for m in "${next[@]}"; do
        needed=0
        for o in "${next[@]}"; do
          [[ $o != "$m" && ${deps[$o]} == *" $m "* ]] && needed=1
        done
        ((needed)) && keep+=("$m")
      done
      ((${#keep[@]} == ${#next[@]})) && break
      next=("${keep[@]}")
    done
    fail "cmake/layers.txt: the arrows between ${next[*]} form a cycle (they must point down)"
    break
  fi
  remaining=("${next[@]}")
done

# ---- every include under src/ --------------------------------------------------------------
include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<])([^">]+)[">]'
checked=0
while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  num=${rest%%:*}
  text=${rest#*:}
  rel=${file#"$root"/}
  from=${rel#src/}
  from=${from%%/*}
  [[ $text =~ $include_re ]] || continue
  kind=${BASH_REMATCH[1]}
  path=${BASH_REMATCH[2]}
  checked=$((checked + 1))
  where="$rel:$num"
  top=${path%%/*}

  if [[ $kind == '"' ]]; then
    if [[ $path == ../* || $path == */../* ]]; then
      fail "$where: \"$path\" climbs out of its directory: include it as \"<module>/...\""
      continue
    fi
    if [[ $path != */* ]]; then
      continue  # next to the including file: same module
    fi
    if ! is_module "$top"; then
      fail "$where: \"$path\": $top is not a module of cmake/layers.txt"
      continue
    fi
  elif ! is_module "$top" || [[ $path != */* ]]; then
    # A system or third-party header: confined ones only where the table allows them.
    for i in "${!header_res[@]}"; do
      if [[ $path =~ ^(${header_res[$i]})$ ]]; then
        ok=0
        read -ra globs <<<"${header_globs[$i]}"  # no pathname expansion: they are patterns
        for glob in "${globs[@]}"; do
          # shellcheck disable=SC2053  # matched as a pattern on purpose
          [[ $rel == $glob ]] && ok=1
        done
        if ((!ok)); then
          fail "$where: <$path> is allowed only in ${header_globs[$i]} (cmake/layers.txt)"
        fi
      fi
    done
    continue
  fi

  # A project header "<module>/...".
  for i in "${!private_dirs[@]}"; do
    dir=${private_dirs[$i]}
    owner=${private_owners[$i]}
    if [[ $path == "$dir"/* && $from != "$owner" ]]; then
      fail "$where: $from -> $dir/: \"$path\" is private to $owner/ (cmake/layers.txt)"
    fi
  done
  if [[ $top == "$from" ]]; then
    continue
  fi
  if [[ ${deps[$from]} == *" $top "* ]]; then
    used["$from $top"]=1
  else
    read -ra allowed <<<"${deps[$from]}"
    row="$from:${allowed[*]:+ ${allowed[*]}}"
    fail "$where: $from -> $top: not allowed (\"$path\"; cmake/layers.txt: \"$row\")"
  fi
done < <(grep -rnE --include='*.hpp' --include='*.cpp' --include='*.h' --include='*.cc' \
  --include='*.inc' '^[[:space:]]*#[[:space:]]*include' "$root/src" |
  LC_ALL=C sort -t: -k1,1 -k2,2n)

for m in "${modules[@]}"; do
  for d in ${deps[$m]}; do
    if [[ -z ${used["$m $d"]+set} && -d $root/src/$m ]] && ((!quiet)); then
      echo "check-layers: note: cmake/layers.txt allows $m -> $d, but no file of src/$m/ uses it"
    fi
  done
done

if ((errors)); then
  echo "check-layers: $errors layering error(s); the allowed dependencies are cmake/layers.txt" >&2
  exit 1
fi
((quiet)) || echo "check-layers: ok ($checked includes in src/, ${#modules[@]} modules)"
