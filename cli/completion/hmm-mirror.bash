# SPDX-License-Identifier: MIT
# bash completion for hmm-mirror(1); installed by `make install` as
# $(BASHCOMPDIR)/hmm-mirror.  The options are those of each command's
# --help (tests/packaging/install_test.sh checks that they agree).

_hmm_mirror_opts()
{
	case $1 in
	info | stats) echo "--json --help" ;;
	snapshot | maps) echo "-p --pid --json --help" ;;
	migrate) echo "-p --pid -s --to-system -e --evict --json --help" ;;
	watch)
		echo "-p --pid -w --write -r --reasons -q --queue -n --count" \
			"-t --timeout -s --stats --json --help"
		;;
	esac
}

_hmm_mirror()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="info snapshot maps watch stats migrate help"
	local cmd="" i

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	COMPREPLY=()

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return 0
	fi

	case $prev in
	-p | --pid)
		local pids
		pids=$(cd /proc 2>/dev/null && printf '%s ' [0-9]*)
		mapfile -t COMPREPLY < <(compgen -W "$pids" -- "$cur")
		return 0
		;;
	-r | --reasons)
		# A comma-separated list: complete its last element.
		local done_part="" last=$cur
		if [[ $cur == *,* ]]; then
			done_part=${cur%,*},
			last=${cur##*,}
		fi
		mapfile -t COMPREPLY < <(compgen -P "$done_part" -W "unmap clear protection migrate release soft-dirty exclusive other all" -- "$last")
		return 0
		;;
	-q | --queue | -n | --count | -t | --timeout)
		return 0
		;;
	esac

	if [ "$cmd" = help ]; then
		[ "$i" -eq $((COMP_CWORD - 1)) ] &&
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		return 0
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_hmm_mirror_opts "$cmd")" -- "$cur")
	fi
	return 0
}

complete -F _hmm_mirror hmm-mirror
