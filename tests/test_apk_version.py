"""apk's version comparison (studio.packages.version) against a table of real Alpine version
pairs, and against the real apk-tools 2.14.4 of the minirootfs on generated pairs."""

from __future__ import annotations

import random

import pytest

from studio.packages.version import compare, fuzzy_match, is_valid, satisfies

# (a, b, apk's answer): real versions from Alpine's indexes and the corner cases apk 2.14.4
# answers (each checked with `apk version -t a b`).
TABLE = [
    ("1.2.4-r2", "1.2.4-r3", "<"),
    ("1.2.4-r10", "1.2.4-r9", ">"),
    ("1.36.1-r15", "1.36.1-r15", "="),
    ("7.2-r1", "7.2", ">"),
    ("3.1.4-r5", "3.1.4_p1-r0", "<"),
    ("8.5.0-r0", "8.4.0-r2", ">"),
    ("2.14.4-r0", "2.14.10-r0", "<"),
    ("1.1.1w-r1", "1.1.1v-r0", ">"),
    ("1.1.1w", "1.1.1", ">"),
    ("9.4_p1-r6", "9.4-r6", ">"),
    ("9.4_p1-r6", "9.4_p2-r0", "<"),
    ("6.4_p20231125-r0", "6.4_p20230506-r0", ">"),
    ("20230506-r0", "20231020-r0", "<"),
    ("0.5.462", "0.5.46", ">"),
    ("2.0_rc1", "2.0", "<"),
    ("2.0_rc1", "2.0_rc2", "<"),
    ("2.0_alpha1", "2.0_beta1", "<"),
    ("2.0_beta3", "2.0_pre1", "<"),
    ("2.0_pre1", "2.0_rc1", "<"),
    ("2.0_cvs", "2.0", ">"),
    ("2.0_svn", "2.0_cvs", ">"),
    ("2.0_git20240101", "2.0_svn", ">"),
    ("2.0_hg", "2.0_git", ">"),
    ("2.0_p1", "2.0_hg", ">"),
    ("1.0_git20230101-r0", "1.0-r1", ">"),
    ("1.0-r1", "1.0_p1", "<"),
    ("1.0-r1", "1.0a", "<"),
    ("1.0_alpha", "1.0-r1", "<"),
    ("1.0.0", "1.0", ">"),
    ("1.2.3", "1.2.3.0", "<"),
    ("1.0", "1.00", ">"),  # apk: leading zeros after a dot
    ("1.01", "1.1", "<"),
    ("1.001", "1.01", "<"),
    ("01", "1", "="),
    ("00", "0", "="),
    ("0.0", "0", ">"),
    ("1.2a3", "1.2a", ">"),
    ("1a", "1b", "<"),
    ("1.0-r", "1.0-r0", "="),
    ("4294967297", "1", ">"),  # 64-bit numbers
    ("99999999999999999", "99999999999999998", ">"),  # 17 digits: still a number
    ("999999999999999999", "999999999999999998", "="),  # 18 digits: invalid, both alike
    ("9223372036854775808", "1", "<"),
    ("1.0_foo", "1.0", "<"),  # invalid suffix
    ("1.0A", "1.0", ">"),  # invalid (upper case)
    ("foo", "bar", ">"),
    ("foo", "1", "<"),
    ("1.x", "1.0", "<"),
    ("1.0.x", "1.0", ">"),
]

VALID = ["1.0", "1.2.3a_rc1_p2-r3", "1.", "1.x", "1a", "1..2", "1._rc", "1_p_p", "1-r1-r2", "1.0-r", "01",
         "99999999999999999", "1.00000000000000000000001"]
INVALID = ["1.0_foo", "1.0A", "1-1", "1.0+1", "1.0-r1a", "1.0 ", "999999999999999999", "1.099999999999999999"]

SIGN = {"<": -1, "=": 0, ">": 1}


@pytest.mark.parametrize("a,b,expected", TABLE)
def test_table(a, b, expected):
    assert compare(a, b) == SIGN[expected]
    assert compare(b, a) == -SIGN[expected] or expected == "=" and compare(b, a) == 0


@pytest.mark.parametrize("version", VALID)
def test_valid(version):
    assert is_valid(version)


@pytest.mark.parametrize("version", INVALID)
def test_invalid(version):
    assert not is_valid(version)


def test_satisfies_operators():
    assert satisfies("8.5.0-r0", ">=", "8")
    assert not satisfies("7.88.1-r1", ">=", "8")
    assert satisfies("1.0", "=", "1.0") and not satisfies("1.0-r1", "=", "1.0")
    assert satisfies("1.0", "<", "1.0-r1") and satisfies("1.0", "<=", "1.0") and not satisfies("1.0", ">", "1.0")
    assert satisfies("anything", "", "")
    assert not satisfies(None, ">=", "1")  # a provider without a version meets no versioned constraint
    assert satisfies(None, "", "")
    assert satisfies("1.0", "><", "Q1abc=", checksum="Q1abc=") and not satisfies("1.0", "><", "Q1abc=", checksum="Q1x=")


def test_fuzzy_is_apk_2_14_prefix_match():
    """apk 2.14.4's `~`: equal as far as the shorter version goes, either way (checked with the
    real apk on a repository: `foo~1.2.3` installs foo-1.2)."""
    assert fuzzy_match("1.2.3", "1.2") and fuzzy_match("1.2", "1.2.3")
    assert fuzzy_match("1.2_rc1", "1.2") and fuzzy_match("1.2a", "1.2") and fuzzy_match("1.3", "1")
    assert not fuzzy_match("1.20", "1.2")
    assert not fuzzy_match("1.2-r1", "1.2-r0")
    assert satisfies("1.2.9", "~", "1.2") and not satisfies("1.3", "~", "1.2")


# --- the oracle: the minirootfs's own apk-tools -------------------------------------------------


@pytest.fixture
def apk(apk_oracle):
    """A function running the minirootfs's apk (through its musl loader) with arguments."""
    assert "apk-tools 2.14" in apk_oracle.run("--version").stdout
    return apk_oracle.run


def _generated_versions(rng: random.Random, count: int) -> list[str]:
    parts = ["0", "1", "2", "9", "10", "00", "01", "007", "20240101", ""]
    suffixes = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p", "foo"]
    versions = []
    for _ in range(count):
        v = rng.choice(["0", "1", "2", "10", "01", "00"])
        for _ in range(rng.randint(0, 3)):
            v += "." + rng.choice(parts)
        if rng.random() < 0.3:
            v += rng.choice("abz")
        for _ in range(rng.randint(0, 2)):
            if rng.random() < 0.4:
                v += "_" + rng.choice(suffixes) + rng.choice(["", "1", "0", "01", "20230101"])
        if rng.random() < 0.5:
            v += "-r" + rng.choice(["0", "1", "2", "10", "", "01"])
        if rng.random() < 0.05:
            v += rng.choice(["A", "+1", "-1", ".", "_", "-", "~1", "a1", "-r1a"])
        versions.append(v)
    return versions


def test_compare_matches_apk(apk):
    rng = random.Random(2024)
    versions = _generated_versions(rng, 600)
    pairs = [(versions[i], versions[i + 1]) for i in range(0, len(versions), 2)]
    pairs += [(v, v + rng.choice(["", ".0", "_rc1", "-r0", "a", "_p1", "0"])) for v in versions[:150]]
    mismatches = []
    for a, b in pairs:
        out = apk("version", "-t", "--", a, b).stdout.strip()
        if SIGN.get(out) != compare(a, b):
            mismatches.append((a, b, out, compare(a, b)))
    assert not mismatches, f"{len(mismatches)} of {len(pairs)} pairs differ from apk: {mismatches[:10]}"


def test_validity_matches_apk(apk):
    rng = random.Random(7)
    versions = sorted(set(_generated_versions(rng, 800) + VALID + INVALID) - {""})
    invalid = set(apk("version", "-c", "--", *versions).stdout.splitlines())
    mismatches = [v for v in versions if is_valid(v) == (v in invalid)]
    assert not mismatches, f"validity differs from apk for {mismatches[:10]}"


def test_table_matches_apk(apk):
    """The hand-written table is apk's own answer."""
    for a, b, expected in TABLE:
        assert apk("version", "-t", "--", a, b).stdout.strip() == expected, (a, b)
