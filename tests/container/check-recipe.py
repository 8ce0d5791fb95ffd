#!/usr/bin/env python3
"""Checks the container recipe without a container engine (there is none on the CI machine).

It follows the Dockerfile's own steps on this machine: the build stage's COPY lines into an empty folder and its
`dotnet publish` command; the runtime stage's COPY lines, its mkdir/chown step (for an unprivileged user standing in
for the image's `app`), its ENV and ENTRYPOINT. Then it starts the two HealthRec nodes of compose.yaml from that
layout, as that user, with compose's environment (PostgreSQL's host, port and password replaced by the test
server's), and checks that both become ready on the shared database, that they write only where the recipe gave
them, and that they answer the same discovery. The base images' own steps (apt-get of libgomp1) are not run: this
machine has the library.

Usage: check-recipe.py POSTGRES_CONNECTION_STRING   (a superuser connection; a database is created and dropped)
Exit 0 when every check passes, 1 otherwise, each failure on one line.
"""
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


def stages(dockerfile):
    """The Dockerfile's instructions, per stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    result, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            result[current] = []
        else:
            result[current].append((word, rest.strip()))
    return result


def copy(sources_and_target, from_root, to_root, workdir):
    parts = shlex.split(sources_and_target)
    *sources, target = parts
    target_path = os.path.join(to_root, workdir.lstrip("/"), target) if not target.startswith("/") else os.path.join(to_root, target.lstrip("/"))
    for source in sources:
        source_path = os.path.join(from_root, source.lstrip("/"))
        if os.path.isdir(source_path):
            shutil.copytree(source_path, target_path if target.endswith("/") else target_path, dirs_exist_ok=True)
        else:
            os.makedirs(target_path if target.endswith("/") else os.path.dirname(target_path), exist_ok=True)
            shutil.copy2(source_path, target_path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""


def psql(connection, sql):
    client = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    subprocess.run([client, connection, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    admin = dict(part.split("=", 1) for part in sys.argv[1].split(";") if part)
    work = tempfile.mkdtemp(prefix="healthrec-recipe-")
    os.chmod(work, 0o755)
    nodes = []
    database = "healthrec_recipe_%d" % os.getpid()
    admin_url = "postgresql://%s@%s:%s/%s" % (admin.get("Username", "postgres"), admin["Host"], admin["Port"], admin.get("Database", "postgres"))
    try:
        dockerfile = stages(os.path.join(REPO, "Dockerfile"))
        build, runtime = dockerfile["build"], dockerfile["runtime"]

        # Build stage: only what its COPY lines bring, then its publish command.
        src, out = os.path.join(work, "src"), os.path.join(work, "out")
        os.makedirs(src)
        workdir = "/"
        for word, rest in build:
            if word == "WORKDIR":
                workdir = rest
            elif word == "COPY":
                copy(rest, REPO, src, "/")
            elif word == "RUN":
                command = rest.replace(" /out", " " + out)
                print("publish: " + command, flush=True)
                published = subprocess.run(command, shell=True, cwd=src, capture_output=True, text=True)
                check(published.returncode == 0, "the build stage publishes from what it copies (%s)" % published.stdout[-2000:].strip().splitlines()[-1:] if published.returncode else "the build stage publishes from what it copies")
                if published.returncode:
                    print(published.stdout[-4000:], published.stderr[-2000:])
                    return 1

        # Runtime stage: its COPY lines, its ownership step for a stand-in user, its settings.
        app = os.path.join(work, "app")
        os.makedirs(app)
        user = None
        environment, entrypoint, workdir = {}, None, "/app"
        for word, rest in runtime:
            if word == "WORKDIR":
                workdir = rest
            elif word == "COPY" and rest.startswith("--from=build"):
                copy(rest.split(" ", 1)[1].replace("/out/", out + "/"), "/", app, "/")
            elif word == "COPY":
                copy(rest, REPO, app, "/")
            elif word == "RUN" and "chown" in rest:
                user = ownership_step(rest, app)
            elif word == "ENV":
                key, _, value = rest.partition("=")
                environment[key] = value
            elif word == "ENTRYPOINT":
                entrypoint = json.loads(rest)
        check(workdir == "/app", "the runtime stage works in /app")
        check(entrypoint is not None and entrypoint[:2] == ["dotnet", "healthrec.dll"], "the entrypoint runs the published server")
        check(os.path.exists(os.path.join(app, "healthrec.dll")), "the published server is in the runtime layout")

        # compose.yaml's two nodes, from that layout, on one PostgreSQL database.
        compose = yaml.safe_load(open(os.path.join(REPO, "compose.yaml")))
        services = compose["services"]
        check({"postgres", "node1", "node2"} <= set(services), "compose.yaml has postgres, node1 and node2")
        psql(admin_url, "CREATE DATABASE %s" % database)
        # Each node its own copy of the layout (its own var/, as its own container has), made before either starts.
        roots = {"node1": app, "node2": clone_layout(app, work, "node2")}
        for name in ("node1", "node2"):
            service = services[name]
            check(service.get("build") == ".", "%s is built from this Dockerfile" % name)
            check(all(p.startswith("127.0.0.1:") for p in service.get("ports", [])), "%s publishes on 127.0.0.1 only" % name)
            env = dict(os.environ)
            env.update(environment)
            for key, value in service["environment"].items():
                env[key] = str(value)
            connection = dict(part.split("=", 1) for part in env["ConnectionStrings__Postgres"].split(";"))
            connection.update(Host=admin["Host"], Port=admin["Port"], Database=database, Username=admin.get("Username", "postgres"))
            connection.pop("Password", None)
            env["ConnectionStrings__Postgres"] = ";".join("%s=%s" % kv for kv in connection.items())
            port = free_port()
            env["ASPNETCORE_URLS"] = "http://127.0.0.1:%d" % port
            env["HOME"] = work
            env["DOTNET_CLI_HOME"] = work
            # Each node's own volumes: the spool per node, the shared folder for both (as compose mounts them).
            node_root = roots[name]
            for volume in service["volumes"]:
                _, target = volume.split(":", 1)
                relative = os.path.relpath(target, "/app")
                if relative.startswith("var/shared"):
                    shared = os.path.join(work, "shared")
                    os.makedirs(shared, exist_ok=True)
                    give(shared, user)
                    path = os.path.join(node_root, relative)
                    if os.path.isdir(path) and not os.path.islink(path):
                        os.rmdir(path)
                    os.symlink(shared, path)
            log = open(os.path.join(work, name + ".log"), "w")
            command = entrypoint if user is None else ["setpriv", "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid), "--init-groups"] + entrypoint
            nodes.append((name, port, subprocess.Popen(command, cwd=node_root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)))

        discovery = {}
        for name, port, process in nodes:
            deadline = time.time() + 180
            status = None
            while time.time() < deadline and process.poll() is None:
                status, _ = get("http://127.0.0.1:%d/health/ready" % port)
                if status == 200:
                    break
                time.sleep(1)
            check(status == 200, "%s is ready on PostgreSQL (exit %s, log %s)" % (name, process.poll(), os.path.join(work, name + ".log")))
            if status != 200:
                print(open(os.path.join(work, name + ".log")).read()[-4000:])
            status, body = get("http://127.0.0.1:%d/cds-services" % port)
            check(status == 200, "%s answers CDS Hooks discovery" % name)
            # Each node names its own address in the links it gives (the source attribute sets' URLs); behind the one
            # address of a deployment (CdsHooks:PublicBaseUrl) they are the same. Everything else must match.
            discovery[name] = body.replace(b"http://127.0.0.1:%d/" % port, b"BASE/")
        check(len(set(discovery.values())) == 1, "both nodes answer the same discovery")
        check(os.path.isdir(os.path.join(work, "shared", "models")), "the model registry is seeded in the shared folder")
        if user is not None:
            outside = [p for root in roots.values() for p in walk_owned_by(root, user.pw_uid)
                       if not os.path.relpath(p, root).startswith(("var", "models"))]
            check(not outside, "the nodes write only under var/ and models/ (%s)" % outside[:3])
        return 0 if not failures else 1
    finally:
        for _, _, process in nodes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        try:
            psql(admin_url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % database)
        except (subprocess.CalledProcessError, OSError):
            pass
        shutil.rmtree(work, ignore_errors=True)


def ownership_step(command, app):
    """The recipe's `mkdir -p …  && chown -R app:app …`, for a stand-in user when run as root (else as the caller)."""
    mkdir = re.search(r"mkdir -p ([^&]+)", command)
    for folder in (mkdir.group(1).split() if mkdir else []):
        os.makedirs(os.path.join(app, folder), exist_ok=True)
    if os.geteuid() != 0:
        print("note: not root, so the nodes run as this user and ownership is not checked", flush=True)
        return None
    name = "healthrec-recipe"
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        user = pwd.getpwnam(name)
    chown = re.search(r"chown -R \S+ ([^&]+)", command)
    for folder in chown.group(1).split():
        give(os.path.join(app, folder), user)
    return user


def give(path, user):
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), user.pw_uid, user.pw_gid)


def clone_layout(app, work, name):
    """A second node's own copy of the runtime layout (its own var/, as its own container has)."""
    root = os.path.join(work, name)
    shutil.copytree(app, root, symlinks=True)
    for folder in ("var", "models"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, folder)):
            st = os.stat(os.path.join(app, os.path.relpath(dirpath, root)))
            os.chown(dirpath, st.st_uid, st.st_gid)
            for f in filenames:
                os.chown(os.path.join(dirpath, f), st.st_uid, st.st_gid)
    return root


def walk_owned_by(root, uid):
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            path = os.path.join(dirpath, entry)
            if os.lstat(path).st_uid == uid and not os.path.islink(path):
                yield path


if __name__ == "__main__":
    sys.exit(main())
