# make-help.awk MAKEFILE...: the text of `make help`, generated from the
# makefiles themselves so that it cannot go stale.  In a makefile:
#
#   target: prerequisites ## what it does      one row: a target (one
#                                              name per rule) and its text
#   ##@ Heading                                the rows after it, in this
#                                              file, go under Heading
#   ##+ text                                   a line of its own under the
#                                              current heading (variables)
#
# Headings are printed in the order they first appear (the top-level
# Makefile, read first, names them all); rows in file order under them.
# `make help-test` checks that every .PHONY target has a row or is in
# HELP_HIDDEN (tests/make/help_check.sh).

FNR == 1 { section = "" }

/^##@ / {
	section = substr($0, 5)
	if (!(section in rows)) {
		order[++n] = section
		rows[section] = ""
	}
	next
}

function add(line) {
	if (section == "") {
		section = "Other"
		if (!(section in rows)) {
			order[++n] = section
			rows[section] = ""
		}
	}
	rows[section] = rows[section] line "\n"
}

/^##\+ / { add("  " substr($0, 5)); next }

# "name: ... ## text", not "NAME := value" (a space or = after the name).
/^[A-Za-z0-9_.-]+:([^=]|$)/ && / ## / {
	name = substr($0, 1, index($0, ":") - 1)
	text = substr($0, index($0, " ## ") + 4)
	add(sprintf("  %-22s %s", name, text))
}

END {
	print "Usage: make [TARGET...] [VARIABLE=value...]  (no TARGET: all)"
	for (i = 1; i <= n; i++) {
		if (rows[order[i]] == "")
			continue
		printf "\n%s:\n%s", order[i], rows[order[i]]
	}
}
