# Run inside the chroot by scripts/real-synapse.sh start (python3 - URL TOKEN CONF_DIR < this file):
# waits for /versions, then makes sure the admin user and the registration token exist.
import json, os, subprocess, sys, time, urllib.request, urllib.error, secrets
url, token, conf_dir = sys.argv[1], sys.argv[2], sys.argv[3]
admin_file = os.path.join(conf_dir, "admin.json")

def call(method, path, body=None, access=None):
    req = urllib.request.Request(url + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": "Bearer " + access} if access else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")

deadline = time.time() + 90
while True:
    try:
        if call("GET", "/_matrix/client/versions")[0] == 200:
            break
    except Exception:
        pass
    if time.time() > deadline:
        sys.exit("synapse did not answer /_matrix/client/versions within 90s")
    time.sleep(0.5)

admin = json.load(open(admin_file)) if os.path.exists(admin_file) else None
if admin is None:
    admin = {"user": "admin", "password": secrets.token_urlsafe(18)}
    subprocess.run(["synapse_register_new_matrix_user", "-u", admin["user"], "-p", admin["password"],
                    "-a", "-c", os.path.join(conf_dir, "homeserver.yaml"),
                    "-c", os.path.join(conf_dir, "secrets.yaml"), url],
                   check=True, stdout=subprocess.DEVNULL)

st, who = call("GET", "/_matrix/client/v3/account/whoami", access=admin.get("access_token"))
if st != 200:
    st, res = call("POST", "/_matrix/client/v3/login", {"type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": admin["user"]},
        "password": admin["password"], "device_id": "REALSYNAPSE_ADMIN"})
    if st != 200:
        sys.exit(f"admin login failed: {st} {res}")
    admin["user_id"], admin["access_token"] = res["user_id"], res["access_token"]
admin["url"] = url
fd = os.open(admin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(admin, f, indent=2)

st, _ = call("GET", "/_synapse/admin/v1/registration_tokens/" + token, access=admin["access_token"])
if st == 404:
    st, res = call("POST", "/_synapse/admin/v1/registration_tokens/new",
                   {"token": token, "uses_allowed": None}, access=admin["access_token"])
    if st != 200:
        sys.exit(f"creating registration token failed: {st} {res}")
elif st != 200:
    sys.exit(f"checking registration token failed: {st}")
