#!/usr/bin/env bash
# Builds the second secrets benchmark tree: the published sources of 37
# popular Python and JavaScript packages (about 930 MB, 51,000 files:
# AWS/Google/Azure SDKs with their API examples, web frameworks, test suites
# full of made-up credentials, minified bundles and source maps), what the
# Python and TypeScript users of secgate have beside their own code. The
# crate tree of ../shared/bench is Rust only.
#
#   bench/make_pyjs_tree.sh DIR      then: bench/secrets.sh DIR
#
# Needs pip and npm (PyPI and the npm registry); versions are pinned.
set -euo pipefail
dir=${1:?usage: make_pyjs_tree.sh DIR}
mkdir -p "$dir/py" "$dir/js"
python=(Django==5.1.4 ansible-core==2.17.7 boto3==1.44.8 botocore==1.44.8 celery==5.7.0
        fastapi==0.165.0 flask==3.1.3 httpx==0.28.1 jupyterlab-server==2.28.1 paramiko==5.1.0
        pydantic==2.14.4 requests==2.34.2 scrapy==2.19.0 sentry-sdk==2.75.0 stripe==16.1.0
        tornado==6.6.1 twilio==9.13.0 werkzeug==3.1.9)
javascript=(aws-sdk@2.1692.0 axios@1.21.1 @azure/storage-blob@12.32.0 discord.js@14.28.1
            express@5.3.0 firebase@13.2.0 googleapis@144.0.0 lodash@4.18.1 mongoose@9.12.1
            next@15.1.0 @octokit/rest@22.0.1 openai@6.49.0 prisma@5.22.0 @sentry/node@11.12.0
            sequelize@6.37.8 @slack/web-api@8.2.0 stripe@23.1.0 twilio@6.3.1 typeorm@1.1.1)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && pip download -q --no-deps --no-binary :all: "${python[@]}")
for archive in "$scratch"/*.tar.gz; do tar xzf "$archive" -C "$dir/py"; done
rm -f "$scratch"/*
(cd "$scratch" && npm pack -q "${javascript[@]}" >/dev/null)
for archive in "$scratch"/*.tgz; do
  name=$(basename "$archive" .tgz)
  mkdir -p "$dir/js/$name"
  tar xzf "$archive" -C "$dir/js/$name"
done
echo "$dir: $(find "$dir" -type f | wc -l) files, $(du -sh "$dir" | cut -f1)"
