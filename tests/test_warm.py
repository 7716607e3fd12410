"""Warm kernels (autograder/grader/warm.py): a kernel forked from a grading thread's warm jail
computes exactly what a cold kernel computes, leaves nothing behind for the next submission,
cannot read the warm process's memory, and a kernel that kills the warm process ends only its
own grading. Real ipykernel kernels driven by jupyter_client, jailed as the grader jails them.
(The batch grader grades with warm kernels by default, so tests/test_batch_grading.py's
limits, faults and "same grades as nbgrader" run through them too.)"""

import tempfile
import time
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from autograder.grader import jail, sandbox, warm

SANDBOX = "bwrap" if jail.probe()[0] else "none"
SECONDS = 90  # the longest-first schedule (tests/conftest.py)
pytestmark = pytest.mark.skipif(not warm.available(), reason="forking kernels needs Linux")

# TensorFlow ops and gradients, a seeded Keras fit on the course's Fashion-MNIST loader, NumPy
# and TensorFlow random streams, the threading TensorFlow chose: printed to be compared.
SAME = """\
from autograder.runtime import setup
info = setup(seed=7)
import hashlib, numpy as np, tensorflow as tf, keras
from autograder.data import load_fashion_mnist_subset
(x, y), (x_test, y_test) = load_fashion_mnist_subset(20, seed=0)
x, x_test = x.reshape(len(x), -1) / 255.0, x_test.reshape(len(x_test), -1)[:200] / 255.0
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
w = tf.Variable(tf.random.normal((5, 3), seed=1))
with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tf.nn.softmax(tf.matmul(tf.ones((2, 5)), w)) ** 2)
digest = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
print("data", x.shape, digest(x), digest(y), digest(x_test))
print("fit", [float(v) for v in history.history["loss"]])
print("predict", digest(model.predict(x_test, verbose=0)))
print("grad", digest(tape.gradient(loss, w).numpy()))
print("random", np.random.rand(3).tolist(), tf.random.uniform((2,)).numpy().tolist())
print("threads", tf.config.threading.get_intra_op_parallelism_threads(),
      tf.config.threading.get_inter_op_parallelism_threads(), info.get("seed") if isinstance(info, dict) else None)
import matplotlib.pyplot as plt
print("figures", plt.get_backend())  # the inline backend: plt.show() puts the figure in the notebook
"""


def kernel_env() -> dict[str, str]:
    """The environment the batch grader gives a kernel (without the per-job folders)."""
    return warm.kernel_env(sandbox.clean_env(sandbox.Limits(), Path(tempfile.mkdtemp())))


def start_kernel(argv: list[str], workdir: Path, runtime: Path, env: dict) -> KernelManager:
    """A kernel from a kernel spec with ``argv``, over IPC sockets in ``runtime``, as nbgrader
    starts one in the sandbox."""
    spec_root = runtime.parent / "spec"
    jail.write_kernel_spec(spec_root, argv)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_root / "kernels")]),
                       transport="ipc", ip=str(runtime / "kernel-ipc"), connection_file=str(runtime / "kernel.json"))
    km.start_kernel(cwd=str(workdir), env=env)
    return km


def run(km: KernelManager, code: str, timeout: float = 300) -> tuple[str, str]:
    """(stdout, error name or "") of ``code`` run in the kernel."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        out, errors = [], []

        def collect(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif msg["msg_type"] == "error":
                errors.append(f"{content['ename']}: {content['evalue']}")

        client.execute_interactive(code, timeout=timeout, output_hook=collect)
        return "".join(out), "; ".join(errors)
    finally:
        client.stop_channels()


@pytest.fixture(scope="module")
def warm_jail():
    jailed = warm.WarmJail(SANDBOX, kernel_env())
    yield jailed
    jailed.close()


def warm_kernel(warm_jail) -> KernelManager:
    warm_jail.begin()
    workdir = warm_jail.autograded / "student" / "chapter"
    workdir.mkdir(parents=True)
    return start_kernel(warm_jail.kernel_argv(), workdir, warm_jail.runtime, kernel_env())


def test_a_forked_kernel_computes_what_a_cold_kernel_computes(warm_jail, tmp_path):
    workdir, runtime = tmp_path / "work", tmp_path / "runtime"
    workdir.mkdir()
    runtime.mkdir()
    env = {**kernel_env(), "TMPDIR": str(tmp_path), "IPYTHONDIR": str(tmp_path / "ipython")}
    cold_argv = jail.kernel_argv(jail.bwrap_argv(workdir, runtime) if SANDBOX == "bwrap" else None)
    cold = start_kernel(cold_argv, workdir, runtime, env)
    try:
        cold_out, cold_err = run(cold, SAME)
    finally:
        cold.shutdown_kernel(now=True)
    forked = warm_kernel(warm_jail)
    try:
        warm_out, warm_err = run(forked, SAME)
    finally:
        forked.shutdown_kernel(now=True)
        warm_jail.end()
    assert not cold_err and not warm_err, (cold_err, warm_err)
    printed = [line.split()[0] for line in cold_out.splitlines()[-7:]]
    assert printed == ["data", "fit", "predict", "grad", "random", "threads", "figures"], cold_out
    assert "inline" in cold_out.splitlines()[-1], cold_out
    assert warm_out == cold_out


def test_nothing_a_kernel_leaves_reaches_the_next_one(warm_jail):
    first = warm_kernel(warm_jail)
    try:
        out, err = run(first, (
            "import os, subprocess, tempfile\n"
            "open('/dev/shm/left', 'w').write('x'); open(os.path.join(tempfile.gettempdir(), 'left'), 'w').write('x')\n"
            "os.makedirs(os.path.expanduser('~/.ipython/profile_default/startup'), exist_ok=True)\n"
            "subprocess.run(['ipcmk', '-M', '4096'], check=True, capture_output=True)\n"
            "p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
            "print(p.pid, os.getpid())"))
        assert not err, err
        sleeper, first_pid = (int(n) for n in out.split())
    finally:
        first.shutdown_kernel(now=True)
        warm_jail.end()
    assert not any(sleeper == p.pid or "sleep" in p.name() for p in warm_jail.processes())
    second = warm_kernel(warm_jail)
    try:
        out, err = run(second, (
            "import os, tempfile, subprocess\n"
            "print(os.path.exists('/dev/shm/left'), os.path.exists(os.path.join(tempfile.gettempdir(), 'left')),\n"
            "      os.path.exists(os.path.expanduser('~/.ipython')),\n"
            "      any(line.startswith('0x') for line in subprocess.run(['ipcs', '-m'], capture_output=True, text=True).stdout.splitlines()),\n"
            "      os.getpid())"))
        assert not err, err
        *flags, second_pid = out.split()
        if SANDBOX == "bwrap":
            assert flags == ["False"] * 4, out
        assert int(second_pid) != first_pid
    finally:
        second.shutdown_kernel(now=True)
        warm_jail.end()


def test_a_kernel_cannot_read_the_warm_process_memory(warm_jail):
    if SANDBOX != "bwrap":
        pytest.skip("unjailed, a kernel runs with the grader's own rights and could read it anyway")
    kernel = warm_kernel(warm_jail)
    try:
        out, err = run(kernel, (
            "import os\n"
            "try:\n"
            "    open(f'/proc/{os.getppid()}/mem', 'rb').read(1); print('read')\n"
            "except OSError as e:\n"
            "    print('refused', type(e).__name__)"))
    finally:
        kernel.shutdown_kernel(now=True)
        warm_jail.end()
    assert not err and out.startswith("refused"), (out, err)


def test_a_kernel_that_kills_the_warm_process_ends_its_own_grading_only():
    jailed = warm.WarmJail.checkout(SANDBOX, kernel_env())
    try:
        kernel = warm_kernel(jailed)
        client = kernel.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        client.execute("import os, signal; os.kill(os.getppid(), signal.SIGKILL)")
        for _ in range(100):
            if not kernel.is_alive():
                break
            time.sleep(0.1)
        assert not kernel.is_alive(), "the kernel outlived the warm process"
        client.stop_channels()
        jailed.end()
        assert jailed.proc.poll() is not None
        jailed.checkin()  # as the sandbox does after each job: a dead jail is not kept
        again = warm.WarmJail.checkout(SANDBOX, kernel_env())  # what the next job gets
        assert again is not jailed and again.proc.poll() is None
        again.end()
        again.checkin()
        assert warm.WarmJail.checkout(SANDBOX, kernel_env()) is again  # a live one is kept
    finally:
        jailed.close()
