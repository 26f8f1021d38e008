package io.ipcbridge.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The options of the benchmark scripts: a value that is not a number they take is a usage error
 * (exit 2, "program: the problem" and the usage line), as an unknown option or a missing value
 * already was. scripts/bench-stream-read and scripts/soak threw a NumberFormatException's stack
 * trace (exit 1); scripts/bench-ring-threads died on bash's "unbound variable" (exit 1), and
 * {@code --runs 0} too, after compiling its program. Nothing here runs a benchmark: each refusal
 * comes before any work.
 */
class ScriptOptionsTest {
    private record Run(int status, String out, String err) {
    }

    private static Run run(List<String> argv) throws Exception {
        Path out = Files.createTempFile("script-out", ".txt");
        try {
            Process p = new ProcessBuilder(argv).redirectOutput(out.toFile()).start();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            boolean ended = p.waitFor(60, TimeUnit.SECONDS);
            if (!ended) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            assertTrue(ended, "ends: " + argv);
            return new Run(p.exitValue(), Files.readString(out), err);
        } finally {
            Files.delete(out);
        }
    }

    private static Run java(Class<?> main, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), main.getName()));
        argv.addAll(List.of(args));
        return run(argv);
    }

    private static void assertUsageError(Run r, String program) {
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith(program + ": "), r.err());
        assertTrue(r.err().contains("usage: "), r.err());
        assertTrue(!r.err().contains("Exception"), r.err());
    }

    @Test
    void streamReadCostRefusesWhatIsNotACount() throws Exception {
        assertUsageError(java(StreamReadCost.class, "--rounds", "abc"), "bench-stream-read");
        assertUsageError(java(StreamReadCost.class, "--block", "99999999999"), "bench-stream-read");
    }

    @Test
    void soakRefusesWhatIsNotADuration() throws Exception {
        assertUsageError(java(Soak.class, "--minutes", "abc"), "soak");
        assertUsageError(java(Soak.class, "--minutes", "0"), "soak"); // ran nothing and said "no drift", exit 0
        assertUsageError(java(Soak.class, "--interval", "x"), "soak");
    }

    @Test
    void soakRefusesARunTooShortToMeasureDrift() throws Exception {
        // LOAD-10: the warm-up is a tenth of the run, at least a minute; --minutes 1 measured nothing
        // after it (drift of one final sample: "no drift", exit 0). The peers are not there, so a run
        // that starts fails at once (exit 1) instead of soaking.
        assertUsageError(java(Soak.class, "--minutes", "1", "--native-dir", "/nonexistent"), "soak");
        assertUsageError(java(Soak.class, "--minutes", "1.5", "--native-dir", "/nonexistent"), "soak");
        assertUsageError(java(Soak.class, "--minutes", "2", "--interval", "21", "--native-dir", "/nonexistent"),
                "soak");
        assertEquals(null, Soak.unmeasurable(2, 20), "2 minutes: a minute of warm-up, a minute of 3 samples");
        assertEquals(null, Soak.unmeasurable(30, 10), "the default run");
    }

    @Test
    void benchRingThreadsRefusesMissingAndNonNumericValues() throws Exception {
        String script = Path.of("scripts", "bench-ring-threads").toAbsolutePath().toString();
        assertUsageError(run(List.of("bash", script, "--runs")), "bench-ring-threads");
        assertUsageError(run(List.of("bash", script, "--runs", "abc")), "bench-ring-threads");
        assertUsageError(run(List.of("bash", script, "--runs", "0", "--messages", "10")), "bench-ring-threads");
        assertUsageError(run(List.of("bash", script, "--messages", "-5")), "bench-ring-threads");
    }

    @Test
    void benchRingThreadsRefusesAJarThatIsNotThere() throws Exception {
        // a --jar that is not there built target/ipcbridge.jar instead (mvn package, a minute), then
        // failed on javac's errors against the missing jar: "package io.ipcbridge.ring does not exist"
        String script = Path.of("scripts", "bench-ring-threads").toAbsolutePath().toString();
        Run r = run(List.of("bash", script, "--jar", "/nonexistent/ipcbridge.jar"));
        assertEquals(1, r.status(), r.err());
        assertEquals("bench-ring-threads: --jar /nonexistent/ipcbridge.jar: no such file\n", r.err());
    }

    @ParameterizedTest
    @CsvSource({"soak, --help", "bench-stream-read, --help", "bench-ring-threads, -h", "cli-interop.sh, --help"})
    void eachScriptPrintsItsHelpOnStdoutAndRunsNothing(String script, String option) throws Exception {
        // they said "unknown option --help" (exit 2), and cli-interop.sh ignored it and ran its checks
        Run r = run(List.of("bash", Path.of("scripts", script).toAbsolutePath().toString(), option));
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith(script.replace(".sh", "") + " -- ") || r.out().startsWith("scripts/" + script + " -- "),
                r.out());
        assertTrue(r.out().contains("usage: scripts/" + script), r.out());
        assertTrue(r.out().lines().noneMatch(l -> l.startsWith("#")), "the comment's text, without its marks: " + r.out());
    }

    @Test
    void cliInteropTakesNoArguments() throws Exception {
        assertUsageError(run(List.of("bash", Path.of("scripts", "cli-interop.sh").toAbsolutePath().toString(), "--all")),
                "cli-interop");
    }
}
