#!/usr/bin/env bash
# Gradescope autograder setup: Gradescope runs this once, as root, when it builds the
# autograder's image (Ubuntu, with network). The autograder zip holds this file,
# run_autograder, a file named `exercise` with the exercise's id (echo-server, ...), and this
# repository as `netkata/` (see docs/gradescope.md).
set -euo pipefail
NODE_VERSION=20.20.2

apt-get update
apt-get install -y --no-install-recommends ca-certificates curl xz-utils
curl -fsSL "https://nodejs.org/dist/v${NODE_VERSION}/node-v${NODE_VERSION}-linux-x64.tar.xz" | tar -xJ -C /usr/local --strip-components=1

cd /autograder/source/netkata
npm ci --omit=dev --no-audit --no-fund

# Submissions run as this user (run_autograder passes --run-as): it cannot write
# /autograder/results, and cannot read what only root reads.
id netkata-student >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin netkata-student
