/*
 * The embedded default sandbox, used when sbxrun is given no --config: the
 * systrap platform, the host root under an in-memory overlay (writable,
 * the host untouched), networking in a fresh network namespace with only
 * loopback (servers and clients inside the sandbox work, nothing outside is
 * reachable), busybox echo as the program, modest limits.  It is parsed
 * by the same loader as any file (tests/unit/test_config.c checks it).
 */
#include "config.h"

const char config_default_yaml[] =
	"# sbx embedded default sandbox (see config/sandbox.yaml for every key)\n"
	"platform:\n"
	"  plugin: systrap\n"
	"filesystem:\n"
	"  root: { source: /, overlay: memory }\n"
	"network:\n"
	"  plugin: host\n"
	"  options: { isolated: true }\n"
	"process:\n"
	"  argv: [/bin/busybox, echo, \"Hello from inside an sbx sandbox\"]\n"
	"  env: [\"PATH=/usr/local/bin:/usr/bin:/bin\", \"HOME=/\"]\n"
	"  cwd: /\n"
	"limits:\n"
	"  memory: 1G\n"
	"  pids: 512\n"
	"  nofile: 1024\n"
	"log:\n"
	"  level: warn\n";
