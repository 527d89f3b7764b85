# docs/examples/env.sh - the settings every example reads (sourced, not run).
# Defaults are those of ./run.sh started at the top of the source tree; set
# any of these in the environment to point the examples elsewhere:
#   KMS_URL      kmsd's Ua listener           (http://127.0.0.1:8080)
#   BSF_URL      bsf-stubd's Ub/Zn listener    (http://127.0.0.1:8081)
#   METRICS_URL  kmsd's metrics listener       (http://127.0.0.1:9090)
#   KMS_STATE    run.sh's state directory      (./var: kms.db, demo-*.psk, bsf/)
#   KMS_BUILD    the build directory           (./build)
#   UE, KMSCTL   the programs   ($KMS_BUILD/tools/kms-ue, $KMS_BUILD/tools/kmsctl)
#   KMSD         kmsd, for the Zk example's own two KMSs ($KMS_BUILD/kms/kmsd)
#   FED_PORTS    their Ua and Zk ports: "UA1 ZK1 UA2 ZK2" ("18441 18442 18443 18444")
#   WALK         where the messages and state files go ($KMS_STATE/walk)
# By hand, from the top of the source tree:  . docs/examples/env.sh
# (it changes into $WALK, so the files of the walkthrough land there).
KMS_URL=${KMS_URL:-http://127.0.0.1:8080}
BSF_URL=${BSF_URL:-http://127.0.0.1:8081}
METRICS_URL=${METRICS_URL:-http://127.0.0.1:9090}
KMS_STATE=${KMS_STATE:-./var}
KMS_BUILD=${KMS_BUILD:-./build}
UE=${UE:-$KMS_BUILD/tools/kms-ue}
KMSCTL=${KMSCTL:-$KMS_BUILD/tools/kmsctl}
KMSD=${KMSD:-$KMS_BUILD/kms/kmsd}
FED_PORTS=${FED_PORTS:-18441 18442 18443 18444}
WALK=${WALK:-$KMS_STATE/walk}
# Absolute paths: the examples run inside $WALK.
for env_v in KMS_STATE KMS_BUILD UE KMSCTL KMSD WALK; do
	eval "env_p=\$$env_v"
	case $env_p in /*) ;; *) eval "$env_v=\$(pwd)/\$env_p" ;; esac
done
unset env_v env_p
# payloads FILE.json: one line from kms-ue decode's JSON: the message type,
# then its payloads in wire order (identities as text, a ticket's or ticket
# policy's type and flags, an error's number and name).
payloads() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
out = []
for p in d["payloads"]:
    n = p.get("role_name", p["name"])
    if "id_text" in p:
        n += "=" + p["id_text"]
    elif "flags_str" in p:
        n += "(%s, %s)" % (p["ticket_type_name"], p["flags_str"])
    elif "error_no" in p:
        n += "(%d %s)" % (p["error_no"], p["error_name"])
    out.append(n)
print("%s (%d bytes): %s" % (d["data_type_name"], d["length"], " ".join(out)))' "$1"
}
export KMS_URL BSF_URL METRICS_URL KMS_STATE KMS_BUILD UE KMSCTL KMSD FED_PORTS WALK
mkdir -p "$WALK" && chmod 700 "$WALK" && cd "$WALK" || return 1
