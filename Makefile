# spyglass developer entry points. The README's Quick start uses two:
#   make demo   -- install spyglass into a venv and run it on examples/julia.py
#   make test   -- the whole test suite (C units, all CPythons 3.8-3.13, ASan)
PYTHON ?= python3
VENVS ?= $(CURDIR)/.venvs
DEMO := $(VENVS)/demo
DRIVER := $(VENVS)/driver
SG := $(DEMO)/bin/spyglass

.PHONY: demo test test-fast sanitize build format clean bench bench-venv

$(DEMO)/bin/python:
	$(PYTHON) -m venv $(DEMO)
	$(DEMO)/bin/pip install -q --disable-pip-version-check meson-python meson ninja

# Developers' builds turn warnings into errors; a user's `pip install .`
# (meson.build's defaults) does not.
WERROR := -Dwerror=true

demo: $(DEMO)/bin/python
	$(DEMO)/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps -Cbuild-dir=$(DEMO)/build -Csetup-args=$(WERROR) .
	@echo '== spyglass time: the whole program (small grid), 5 runs'
	$(SG) time -n 5 -- $(DEMO)/bin/python examples/julia.py 300 300
	@echo '== spyglass timeit: three ways to build a string'
	$(SG) timeit "'-'.join(str(n) for n in range(100))" "'-'.join([str(n) for n in range(100)])" "'-'.join(map(str, range(100)))"
	@echo '== spyglass profile: functions, as cProfile (top 12 by cumulative time)'
	$(SG) profile -s cumulative --limit 12 examples/julia.py 300 300
	@echo '== spyglass lines: every function of the script, line by line (kernprof -l -v)'
	$(SG) lines examples/julia.py 200 300
	@echo '== spyglass memory: which line allocates, and what is held at the peak (memory_profiler)'
	$(SG) memory examples/julia.py 100 300
	@echo '== spyglass dis: the inner function as bytecode, with how often each instruction ran (top 8)'
	$(SG) dis --top 8 --func __main__:calculate_z_serial_purepython examples/julia.py 100 100
	@echo '== spyglass record: sampled from outside, written as a flame graph'
	$(SG) record -r 500 -o $(DEMO)/julia.svg -- $(DEMO)/bin/python examples/julia.py 400 300
	@echo '== spyglass dump: the stacks of a running process'
	@$(DEMO)/bin/python examples/julia.py 1000 300 >/dev/null & pid=$$!; sleep 1.5; \
	  $(SG) dump --pid $$pid; status=$$?; kill $$pid; exit $$status
	@echo '== spyglass timeline: memory over time from outside (mprof run), drawn as a plot'
	$(SG) timeline -o $(DEMO)/julia-mem.dat -- $(DEMO)/bin/python examples/julia.py 300 300
	$(SG) plot -o $(DEMO)/julia-mem.svg $(DEMO)/julia-mem.dat
	@echo '== spyglass profile -o julia.html: one offline HTML report (flame graph, table, source)'
	$(SG) profile -o $(DEMO)/julia.html examples/julia.py 300 300
	@echo "== open $(DEMO)/julia.svg, julia-mem.svg and julia.html in a browser"

$(DRIVER)/bin/pytest:
	$(PYTHON) -m venv $(DRIVER)
	$(DRIVER)/bin/pip install -q --disable-pip-version-check pytest

# The whole suite in three passes at once: the tests of no version and
# CPython 3.11-3.13; beside it those of 3.8-3.10, then the fuzz targets
# (built with ASan and UBSan of their own, so the sanitizer pass skips
# them); and the ASan+UBSan build running the tests again on 3.12. Most
# of a pass waits on the programs it runs, so together they keep CI within
# its time; each loads the machine for the others, which the tests must
# bear. The other two
# passes' reports follow the first one's; any failing fails the target.
OLD_LOG := $(VENVS)/old-pythons-pass.log
ASAN_LOG := $(VENVS)/asan-pass.log
test: $(DRIVER)/bin/pytest
	@mkdir -p $(VENVS)
	@{ SPYGLASS_TEST_PYTHONS=3.8,3.9,3.10 SPYGLASS_TEST_VERSIONED_ONLY=1 \
	  $(DRIVER)/bin/pytest -q -p no:cacheprovider \
	  --basetemp=$(VENVS)/old-pythons-tmp tests; r=$$?; \
	  $(DRIVER)/bin/pytest -q -p no:cacheprovider \
	  --basetemp=$(VENVS)/fuzz-tmp tests/test_fuzz.py && exit $$r; \
	  } >$(OLD_LOG) 2>&1 & \
	old=$$!; \
	SPYGLASS_SANITIZE=1 SPYGLASS_TEST_PYTHONS=3.12 $(DRIVER)/bin/pytest -q \
	  -p no:cacheprovider --basetemp=$(VENVS)/asan-tmp \
	  --ignore=tests/test_fuzz.py tests >$(ASAN_LOG) 2>&1 & \
	asan=$$!; \
	SPYGLASS_TEST_PYTHONS=3.11,3.12,3.13 $(DRIVER)/bin/pytest -q \
	  --ignore=tests/test_fuzz.py tests; main=$$?; \
	wait $$old; old_rc=$$?; wait $$asan; asan_rc=$$?; \
	echo "== CPython 3.8-3.10 and the fuzz targets, run beside the pass above"; cat $(OLD_LOG); \
	echo "== the ASan+UBSan pass (CPython 3.12), run beside them"; \
	cat $(ASAN_LOG); \
	[ $$main -eq 0 ] && [ $$old_rc -eq 0 ] && [ $$asan_rc -eq 0 ]

test-fast: $(DRIVER)/bin/pytest
	SPYGLASS_TEST_PYTHONS=$${SPYGLASS_TEST_PYTHONS:-3.12} $(DRIVER)/bin/pytest -q -x tests

sanitize: $(DRIVER)/bin/pytest
	SPYGLASS_SANITIZE=1 $(DRIVER)/bin/pytest -q tests

build:
	meson setup build --reconfigure -Dtests=true $(WERROR) >/dev/null 2>&1 || meson setup build -Dtests=true $(WERROR)
	ninja -C build

# Format the C sources as .clang-format says (tests/test_style.py checks);
# the generated layout table keeps its generator's layout.
format:
	git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' | \
	  grep -v '^src/remote/layouts_gen.h$$' | xargs clang-format -i

# Peers for the benchmarks, from PyPI (hyperfine from apt). austin-dist is
# pinned: 3.8+ needs a newer glibc than this Debian's. memray, scalene,
# memory_profiler and numpy are bench/memory_bench.py's; it also needs
# spyglass itself in the venv, built from this tree by bench-venv.
.bench/venv/bin/memray:
	$(PYTHON) -m venv .bench/venv
	.bench/venv/bin/pip install -q --disable-pip-version-check py-spy austin-dist==3.7.0 \
	  memray scalene memory_profiler numpy meson-python meson ninja

bench-venv: .bench/venv/bin/memray
	.bench/venv/bin/pip install -q --disable-pip-version-check --no-build-isolation \
	  --no-deps -Cbuild-dir=.bench/build .

# Every benchmark, one after the other (tens of minutes); each script's
# docstring says what it measures. Results go to docs/benchmarks.md by hand.
bench: bench-venv
	$(PYTHON) bench/time_overhead.py
	$(PYTHON) bench/timeit_compare.py
	$(PYTHON) bench/dump_bench.py --py-spy .bench/venv/bin/py-spy
	$(PYTHON) bench/record_bench.py
	$(PYTHON) bench/profile_bench.py
	$(PYTHON) bench/lines_bench.py
	$(PYTHON) bench/memory_bench.py

clean:
	rm -rf build .venvs

# Wheels for PyPI: manylinux2014 (glibc 2.17) x86_64, one per CPython, and
# the sdist, into dist/ (docs/wheels.md). Separate from `make test`: the six
# builds take minutes. WHEEL_PYTHONS=3.8,3.12 builds and checks fewer.
.PHONY: wheels test-wheels
WHEEL_PYTHONS ?= 3.8,3.9,3.10,3.11,3.12,3.13
wheels:
	$(PYTHON) tools/wheels/build.py --pythons $(WHEEL_PYTHONS)

# Each wheel installed into a fresh venv of its CPython with no compiler on
# PATH, run, and its ELF files checked against the glibc 2.17 baseline.
test-wheels: wheels $(DRIVER)/bin/pytest
	SPYGLASS_TEST_WHEELS=$(CURDIR)/dist SPYGLASS_TEST_PYTHONS=$(WHEEL_PYTHONS) \
	  $(DRIVER)/bin/pytest -q -p no:cacheprovider tests/test_wheels.py
