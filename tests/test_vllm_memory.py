"""vLLM on CPU: a KV-cache size that fits, and the root cause of an engine failure in one line."""

from __future__ import annotations

from mella_eval.backends import vllm_memory as vm

GIB = 1024 ** 3
# The engine core's error as vLLM 0.32's cpu_worker raises it, in the engine's log format.
ENGINE_LOG = """\
(EngineCore pid=2148) INFO 12-01 22:59:23 [multiproc_executor.py:153] DP group leader: node_rank=0
(EngineCore pid=2148) ERROR 12-01 22:59:24 [core.py:1102] EngineCore failed to start.
(EngineCore pid=2148) ERROR 12-01 22:59:24 [core.py:1102] Traceback (most recent call last):
(EngineCore pid=2148) ERROR 12-01 22:59:24 [core.py:1102]   File "vllm/v1/worker/cpu_worker.py", line 83, in __init__
(EngineCore pid=2148) ERROR 12-01 22:59:24 [core.py:1102]     raise ValueError(
(EngineCore pid=2148) ERROR 12-01 22:59:24 [core.py:1102] ValueError: Available memory on node 0 (7.22/14.84 GiB) on startup is less than desired CPU memory utilization (0.92, 13.65 GiB).
(EngineCore pid=2148) Process EngineCore:
(MainProcess pid=2117) ERROR 12-01 22:59:25 [utils.py:1430] RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {'EngineCore': 1}
"""


def engine_error() -> BaseException:
    try:
        try:
            raise ConnectionResetError("pipe closed")
        except ConnectionResetError as inner:
            raise RuntimeError("Engine core initialization failed. See root cause above. "
                               "Failed core proc(s): {'EngineCore': 1}") from inner
    except RuntimeError as e:
        return e


def test_kvcache_fits_the_free_memory():
    assert vm.cpu_kvcache_gib(8 * GIB) == 3  # 40% of 8 GiB, whole GiB
    assert vm.cpu_kvcache_gib(8 * GIB, weights_bytes=6 * GIB) == 1  # at least 1
    assert vm.cpu_kvcache_gib(1024 * GIB) == vm.MAX_KV_GIB
    assert vm.cpu_kvcache_gib(0) == 1


def test_sets_the_variable_only_when_the_user_has_not(tmp_path):
    env: dict = {}
    described = vm.ensure_cpu_kvcache_space(environ=env, available_bytes=10 * GIB)
    assert env[vm.KVCACHE_ENV] == "4" and described.startswith("4 GiB")
    user = {vm.KVCACHE_ENV: "2"}
    assert vm.ensure_cpu_kvcache_space(environ=user, available_bytes=100 * GIB) == "user: 2"
    assert user[vm.KVCACHE_ENV] == "2"
    # The weights of a local model folder are subtracted first.
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1024)
    assert vm.weights_bytes(tmp_path) == 1024 and vm.weights_bytes("org/hub-id") == 0
    env = {}
    vm.ensure_cpu_kvcache_space(str(tmp_path), environ=env, available_bytes=5 * GIB)
    assert env[vm.KVCACHE_ENV] == "1"  # 40% of (5 GiB - 1 KiB) rounds down to 1


def test_available_memory_is_read():
    available = vm.available_memory_bytes()
    assert available is None or available > 0


def test_root_cause_comes_from_the_engine_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(ENGINE_LOG, encoding="utf-8")
    cause = vm.engine_failure_cause(engine_error(), log)
    assert cause.startswith("ValueError: Available memory on node 0 (7.22/14.84 GiB) on startup is "
                            "less than desired CPU memory utilization")
    assert "pid=" not in cause and "See root cause" not in cause


def test_root_cause_from_the_exception_chain_without_a_log(tmp_path):
    # No log, or a log with no cause: the innermost specific exception of the chain.
    assert vm.engine_failure_cause(engine_error()) == "ConnectionResetError: pipe closed"
    quiet = tmp_path / "quiet.log"
    quiet.write_text("INFO loading weights\n", encoding="utf-8")
    assert vm.engine_failure_cause(engine_error(), quiet) == "ConnectionResetError: pipe closed"
    assert vm.engine_failure_cause(ValueError("bad dtype\nmore"), tmp_path / "missing.log") == \
        "ValueError: bad dtype"


def test_root_cause_reads_only_the_tail_and_keeps_one_short_line(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("ValueError: an old failure\n" + "x\n" * 40000 + "OSError: " + "y" * 500 + "\n")
    cause = vm.engine_failure_cause(engine_error(), log, tail_bytes=4096)
    assert cause.startswith("OSError: yyy") and len(cause) == 300


# vLLM 0.32 on this machine (a 10 GiB NUMA node, 22.8 GiB free in all): the worker's error, then
# the engine core's wrapper of it (verbatim from a run's log, shortened).
WORKER_LOG = """\
(Worker pid=6560) ERROR 12-01 23:08:53 [multiproc_executor.py:1063] ValueError: Available memory on node 0 (8.54/10.21 GiB) on kv cache allocation is less than requested memory for kv (9.0 GiB). Decrease --kv-cache-memory-bytes, VLLM_CPU_KVCACHE_SPACE, or reduce CPU memory used by other processes.
(EngineCore pid=6531) ERROR 12-01 23:08:53 [core.py:1510]     raise RuntimeError(
(EngineCore pid=6531) ERROR 12-01 23:08:53 [core.py:1510] RuntimeError: Worker failed with error 'Available memory on node 0 (8.54/10.21 GiB) on kv cache allocation is less than requested memory for kv (9.0 GiB).', please check the stack trace above for the root cause
"""


def test_root_cause_skips_wrappers_that_point_elsewhere(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(WORKER_LOG, encoding="utf-8")
    assert vm.engine_failure_cause(engine_error(), log).startswith(
        "ValueError: Available memory on node 0 (8.54/10.21 GiB) on kv cache allocation")


def test_available_memory_is_the_smallest_numa_node_and_the_cgroup(tmp_path):
    """vLLM's worker checks the memory of its NUMA node, not the machine's."""
    kb = 1024
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text(f"MemTotal: {24 * GIB // kb} kB\nMemAvailable: {22 * GIB // kb} kB\n")
    assert vm.available_memory_bytes(tmp_path) == 22 * GIB
    node = tmp_path / "sys/devices/system/node/node0"
    node.mkdir(parents=True)
    node.joinpath("meminfo").write_text(
        f"Node 0 MemTotal: {10 * GIB // kb} kB\nNode 0 MemFree: {6 * GIB // kb} kB\n"
        f"Node 0 Active(file): {GIB // kb} kB\nNode 0 Inactive(file): {GIB // kb} kB\n"
        f"Node 0 SReclaimable: {GIB // kb} kB\n")
    assert vm.available_memory_bytes(tmp_path) == 9 * GIB
    (tmp_path / "sys/fs/cgroup").mkdir(parents=True)
    (tmp_path / "sys/fs/cgroup/memory.max").write_text(f"{8 * GIB}\n")
    (tmp_path / "sys/fs/cgroup/memory.current").write_text(f"{3 * GIB}\n")
    assert vm.available_memory_bytes(tmp_path) == 5 * GIB
    (tmp_path / "sys/fs/cgroup/memory.max").write_text("max\n")
    assert vm.available_memory_bytes(tmp_path) == 9 * GIB
    assert vm.available_memory_bytes(tmp_path / "nothing") is None
