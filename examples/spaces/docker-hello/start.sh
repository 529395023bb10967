#!/bin/sh
# Hello Docker: a page on port 7860, a boot counter in /data when persistent storage is attached.
boots="no persistent storage"
if [ -d /data ] && [ -w /data ] && grep -q " /data " /proc/mounts 2>/dev/null; then
  n=$(cat /data/boots 2>/dev/null || echo 0)
  n=$((n + 1))
  echo "$n" > /data/boots
  boots="boot number $n on this Space's persistent storage"
fi
mkdir -p /app/www
cat > /app/www/index.html <<PAGE
<!doctype html>
<title>Hello Docker</title>
<h1>Hello from ${SPACE_ID:-a Docker Space}</h1>
<p>Running as uid $(id -u) on ${CPU_CORES:-?} vCPU, ${MEMORY:-?} of memory; $boots.</p>
PAGE
echo "hello from the app: ${SPACE_ID:-docker-hello} on port 7860 ($boots)"
exec httpd -f -p 7860 -h /app/www
