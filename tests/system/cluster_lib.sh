# Several kmsd nodes serving as one KMS behind HAProxy (sourced after
# lib.sh, whose PostgreSQL and HAProxy helpers it uses).  Every wait is
# bounded; lib_cleanup stops everything (the nodes and haproxy are tracked
# daemons, PostgreSQL is stopped by pg_kill).
#
#   need_cluster             exit 77 without PostgreSQL or HAProxy
#   cluster_start N          pg_start; kmsctl -c init --demo; nodes n1..nN;
#                            haproxy in front.  Sets:
#     cl_n                   N
#     cl_conf                a kmsd.conf naming the shared store, KEK and
#                            state dir $cl_state (for kmsctl -c)
#     cl_state               the shared files: kek, demo-alice.psk, demo-bob.psk
#     cl_lb                  http://127.0.0.1:PORT, the balancer
#     cl_shared              yes when this kmsd has replay.shared (then every
#                            node runs with it), else no
#   node_url I               http://127.0.0.1:PORT of node I (direct)
#   node_pid I               its pid ("" when stopped)
#   node_log I               its log's name under $tmp (nI.log, for wait_log)
#   node_start I             (re)start node I, until /readyz answers 200
#   node_kill I              kill -9 node I
#   node_stop I              SIGTERM node I; fails unless it exits 0
#   lb_state I               HAProxy's view of node I: UP, DOWN, ... (stats page)
#   clpy                     a python3 for the test's helpers: /usr/bin/python3
#                            when there (a python3 first in PATH may be a slow
#                            wrapper script, e.g. pyenv's shim), else python3
#   wait_lb_state I STATE    until lb_state I is STATE, at most 10 s
#   cluster_stop             haproxy (soft stop), every live node, PostgreSQL
#
# Each node: the same kms.kms_id, KEK file and store, its own Ua port and
# state dir (its replay journal), kms.node = nI (the audit rows' node
# column), policy.reload_interval as the default (the backstop to change
# notifications), and replay.shared = true when this kmsd has it.

cl_n=0
clpy=python3
[ ! -x /usr/bin/python3 ] || clpy=/usr/bin/python3
cl_conf=""
cl_state=""
cl_lb=""
cl_lb_port=""
cl_shared=no
cl_ports=""

need_cluster() {
	need_haproxy
	# lib.sh without the PostgreSQL helpers (an older tree): skip.
	if ! command -v pg_start >/dev/null 2>&1; then
		echo "SKIP: tests/system/lib.sh has no pg_start"
		exit 77
	fi
	need_pg
}

# cl_nth LIST I: the I-th word of LIST.
cl_nth() {
	echo "$1" | tr ' ' '\n' | sed '/^$/d' | sed -n "${2}p"
}
node_url() {
	echo "http://127.0.0.1:$(cl_nth "$cl_ports" "$1")"
}
node_log() {
	echo "n$1.log"
}
node_pid() {
	eval "echo \${cl_pid_$1:-}"
}

# cl_node_conf I: node I's kmsd.conf on stdout.
cl_node_conf() {
	cat <<CONF
ua = { port = $(cl_nth "$cl_ports" "$1"); threads = 2; };
kms = {
	kms_id = "kms.example.org";
	state_dir = "$tmp/n$1";
	kek_file = "$cl_state/kek";
	store = "postgresql";
	conninfo = "$PG_CONNINFO application_name=kmsd-n$1";
	node = "n$1";
};
CONF
	[ "$cl_shared" = no ] || echo 'replay = { shared = true; };'
}

# cl_replay_shared: does this kmsd know replay.shared?  kmsd -t on node
# 1's configuration with it; a kmsd without the setting names it in its
# refusal (an unknown setting), anything else is a failure of the test.
cl_replay_shared() {
	cl_node_conf 1 >"$tmp/probe.conf"
	echo 'replay = { shared = true; };' >>"$tmp/probe.conf"
	if "$KMSD" "$KMSD_ROOT" -t -c "$tmp/probe.conf" >"$tmp/probe.out" 2>&1; then
		cl_shared=yes
	elif grep -q "replay" "$tmp/probe.out"; then
		cl_shared=no
	else
		fail "kmsd -t refuses a cluster node's configuration: $(cat "$tmp/probe.out")"
	fi
}

node_start() {
	daemon "$(node_log "$1")" "$KMSD" "$KMSD_ROOT" -c "$tmp/n$1.conf"
	eval "cl_pid_$1=$dpid"
	wait_up "$(node_url "$1")/readyz" "$dpid" "kmsd n$1"
}
node_kill() {
	kill_daemon "$(node_pid "$1")"
	eval "cl_pid_$1="
}
node_stop() {
	stop "$(node_pid "$1")" "kmsd n$1"
	eval "cl_pid_$1="
}

# cl_haproxy_conf: the balancer's configuration on stdout (docs/scale.md
# explains it for a site).
cl_haproxy_conf() {
	cat <<CONF
global
	maxconn 1024
	stats socket $tmp/haproxy.sock mode 600 level admin
	log stdout format raw local0 info

defaults
	mode http
	log global
	option httplog
	timeout connect 500ms
	timeout client 10s
	timeout server 10s
	timeout check 500ms
	# A request is re-sent only when its connection to a node could not
	# be made (HAProxy's default retry-on is conn-failure): it never
	# reached a node, so nothing was served or recorded as a replay.
	# redispatch sends the last of those retries to another node.  No
	# L7 retries (retry-on with response-timeout, 5xx ...): a MIKEY
	# message that a node may have processed is never sent again by the
	# balancer; a client that gets an error builds a fresh message.
	retries 2
	option redispatch

# Statistics for the test (lb_state), on a unix socket.
listen stats
	bind unix@$tmp/haproxy-stats.sock
	stats enable
	stats uri /stats

frontend ua
	bind 127.0.0.1:$cl_lb_port
	default_backend kmsd

backend kmsd
	balance roundrobin
	# /readyz: 503 while a node cannot serve (no store, audit refusing).
	option httpchk GET /readyz
	http-check expect status 200
	default-server inter 200ms fall 2 rise 1
CONF
	cl_i=1
	while [ $cl_i -le "$cl_n" ]; do
		echo "	server n$cl_i 127.0.0.1:$(cl_nth "$cl_ports" $cl_i) check"
		cl_i=$((cl_i + 1))
	done
}

cluster_start() {
	cl_n=$1
	[ "$cl_n" -ge 1 ] && [ "$cl_n" -le 9 ] || fail "cluster_start: 1..9 nodes"
	pg_start
	cl_state=$tmp/shared
	cl_conf=$tmp/kmsctl.conf
	cat >"$cl_conf" <<CONF
kms = {
	state_dir = "$cl_state";
	store = "postgresql";
	conninfo = "$PG_CONNINFO application_name=kmsctl";
	node = "kmsctl";
};
CONF
	"$KMSCTL" -c "$cl_conf" init --demo >"$tmp/init.out" 2>&1 ||
		fail "kmsctl -c init --demo on PostgreSQL: $(cat "$tmp/init.out")"
	cl_ports=""
	cl_i=1
	while [ $cl_i -le "$cl_n" ]; do
		cl_ports="$cl_ports $(free_port)"
		mkdir -m 0700 "$tmp/n$cl_i"
		cl_i=$((cl_i + 1))
	done
	cl_replay_shared
	cl_i=1
	while [ $cl_i -le "$cl_n" ]; do
		cl_node_conf $cl_i >"$tmp/n$cl_i.conf"
		node_start $cl_i
		cl_i=$((cl_i + 1))
	done
	cl_lb_port=$(free_port)
	cl_lb="http://127.0.0.1:$cl_lb_port"
	cl_haproxy_conf >"$tmp/haproxy.cfg"
	haproxy_start "$tmp/haproxy.cfg" "$cl_lb_port"
	cl_i=1
	while [ $cl_i -le "$cl_n" ]; do
		wait_lb_state $cl_i UP
		cl_i=$((cl_i + 1))
	done
}

# lb_state I: the status column of server nI in HAProxy's statistics (UP,
# DOWN, "UP 1/2" while going down ...), from its stats page on a unix
# socket (curl: no interpreter started for each poll).
lb_state() {
	curl -s -m 5 --unix-socket "$tmp/haproxy-stats.sock" "http://lb/stats;csv" |
		awk -F, -v s="n$1" '$1 == "kmsd" && $2 == s { print $18 }'
}
cl_lb_is() {
	[ "$(lb_state "$1" 2>/dev/null)" = "$2" ]
}
wait_lb_state() {
	wait_for 10 "haproxy never saw n$1 $2" cl_lb_is "$1" "$2"
}

cluster_stop() {
	haproxy_stop
	cl_i=1
	while [ $cl_i -le "$cl_n" ]; do
		[ -z "$(node_pid $cl_i)" ] || node_stop $cl_i
		cl_i=$((cl_i + 1))
	done
	pg_stop
}
