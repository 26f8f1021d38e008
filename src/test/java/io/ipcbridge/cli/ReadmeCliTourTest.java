package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Names;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README.md's "A tour of the CLI", as written there (with this test's class path for
 * scripts/ipcbridge, a private directory for /tmp and unique object names), run with bash: every
 * line ends with status 0 and prints what its comment says. The sock lines run a few times: the
 * connect must never come before the listener has bound (it used to fail with ENOENT 1 time in 3).
 */
class ReadmeCliTourTest {
    private static final Duration BOUND = Duration.ofMinutes(2);
    /** What a tour line prints on stdout, by the line's text: what its comment says. */
    private static final Map<String, String> PRINTS = new LinkedHashMap<>();
    /** What each line prints after it in {@link #withStatuses}: its exit status. */
    private static final Pattern STATUS = Pattern.compile("<<(\\d+)>>\n");

    @TempDir
    Path dir;

    static {
        PRINTS.put("mq receive /orders --print-priority", "5\tship 42\n");
        PRINTS.put("mq receive /orders --nonblock", "3\n");
        PRINTS.put("mq info /orders --json", "\\{\"name\":\"/ORDERS\",.*\"mode\":\"0600\"}\n");
        PRINTS.put("shm read /frame", "hello");
        PRINTS.put("sem wait /ready", "3\n");
        PRINTS.put("sem value /ready", "1\n");
        PRINTS.put("ring receive /ticks --all", "tick 1\ntick 2\n");
        PRINTS.put("ring receive /ticks --timeout", "3\n");
        PRINTS.put("ring info /ticks --json", "\\{\"name\":\"/TICKS\",.*\"used\":0,.*}\n");
        PRINTS.put("ls --json", "\\[.*]\n");
        PRINTS.put("conn listen", "one\ntwo\n");
    }

    @Test
    void theQueueSegmentSemaphoreAndRingLinesPrintWhatTheirCommentsSay() throws Exception {
        List<String> lines = tour("fifo create /tmp/jobs", "sock listen unix:/tmp/s.sock");
        Process p = bash(withStatuses(lines) + "wait\n").start();
        try {
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the tour ends");
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEachLinePrints(lines, stdout, stderr);
            assertEquals(3, stderr.lines().count(), "one line for each of the three exits 3: " + stderr);
            stderr.lines().forEach(l -> assertTrue(l.startsWith("ipcbridge: "), stderr));
            assertEquals("payload", Files.readString(dir.resolve("out.bin")));
            assertFalse(Files.exists(dir.resolve("jobs")), "the FIFO is gone");
        } finally {
            Cli.destroy(p);
        }
    }

    @Test
    void theConnLinesTalkToPython() throws Exception {
        ConnStdioTest.python3IsThere();
        List<String> lines = tour("with a Python multiprocessing.connection Listener", "```");
        Process listener = new ProcessBuilder("python3", "-c", "import sys\n"
                + "from multiprocessing.connection import Listener\n"
                + "l = Listener(sys.argv[1], authkey=b'key'); print('ready', flush=True)\n"
                + "print(l.accept().recv_bytes().decode())", dir.resolve("mp.sock").toString()).start();
        Process p = null;
        Process client = null;
        try {
            BufferedReader fromListener = new BufferedReader(new InputStreamReader(listener.getInputStream()));
            assertEquals("ready", fromListener.readLine());
            p = bash(withStatuses(lines)).start();
            BufferedReader stderr = new BufferedReader(new InputStreamReader(p.getErrorStream()));
            String line = stderr.readLine();
            assertEquals("ipcbridge: listening on unix:" + dir.resolve("j.sock"), line);
            client = new ProcessBuilder("python3", "-c", "import sys\n"
                    + "from multiprocessing.connection import Client\n"
                    + "c = Client(sys.argv[1], authkey=b'key'); c.send_bytes(b'one'); c.send_bytes(b'two')",
                    dir.resolve("j.sock").toString()).start();
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the tour ends");
            assertEachLinePrints(lines, stdout, "");
            assertEquals(null, stderr.readLine(), "no error");
            assertEquals("hello", fromListener.readLine(), "the Python Listener got the message");
            assertTrue(client.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS));
            assertEquals(0, client.exitValue());
        } finally {
            Cli.destroy(p);
            Cli.destroy(client);
            Cli.destroy(listener);
        }
    }

    @Test
    void theShellFormOfAnOwnedNameIsTheOneReapCommandTestChecks() throws Exception {
        assertTrue(Files.readString(Path.of("README.md")).contains("\"/myapp." + ReapCommandTest.SHELL_OWNER + ".cache\""),
                "the README's sh example names its objects as ReapCommandTest's shell does");
    }

    @Test
    void theSockExampleIsReliable() throws Exception {
        StringBuilder example = new StringBuilder();
        for (String line : tour("sock listen unix:/tmp/s.sock", "")) {
            example.append(line).append('\n');
        }
        assertTimeoutPreemptively(BOUND, () -> {
            for (int round = 0; round < 3; round++) {
                Files.deleteIfExists(dir.resolve("got.bin"));
                Process p = bash("set -e\n" + example).redirectErrorStream(true).start();
                try {
                    String output = new String(p.getInputStream().readAllBytes());
                    assertTrue(p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS), "the example ends");
                    assertEquals(0, p.exitValue(), output);
                    assertEquals("", output, "no error from the listener or the client");
                    assertEquals("hi", Files.readString(dir.resolve("got.bin")));
                    assertFalse(Files.exists(dir.resolve("s.sock")), "the socket file is gone");
                } finally {
                    Cli.destroy(p);
                }
            }
        });
    }

    /**
     * The README's lines from the one containing {@code first} to the one before the next containing
     * {@code end} (the next blank one, for ""), with this test's directory for /tmp/ and the test's
     * own names for /orders, /frame, /ready, /ticks and /myapp.
     */
    private List<String> tour(String first, String end) throws Exception {
        List<String> readme = Files.readAllLines(Path.of("README.md"));
        int i = 0;
        while (i < readme.size() && !readme.get(i).contains(first)) {
            i++;
        }
        assertTrue(i < readme.size(), "the README has the line " + first);
        String prefix = Names.unique("readme");
        List<String> lines = new ArrayList<>();
        for (; end.isEmpty() ? !readme.get(i).isBlank() : !readme.get(i).contains(end); i++) {
            lines.add(readme.get(i).replace("/tmp/", dir + "/")
                    .replaceAll(" /(orders|frame|ready|ticks|myapp)\\b", " " + prefix + "-$1"));
        }
        return lines;
    }

    /** {@code lines}, each but blank and comment lines followed by one that prints its status. */
    private static String withStatuses(List<String> lines) {
        StringBuilder script = new StringBuilder();
        for (String line : lines) {
            script.append(line).append('\n');
            if (!line.isBlank() && !line.startsWith("#")) {
                script.append("echo \"<<$?>>\"\n");
            }
        }
        return script.toString();
    }

    /** bash running {@code script} in this test's directory, {@code ipcbridge} being the CLI. */
    private ProcessBuilder bash(String script) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "ipcbridge() { \"$JAVA\" --enable-native-access=ALL-UNNAMED "
                + "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp \"$CP\" " + Main.class.getName() + " \"$@\"; }\n"
                + script.replace("scripts/ipcbridge", "ipcbridge")).directory(dir.toFile());
        pb.environment().put("CP", System.getProperty("java.class.path"));
        pb.environment().put("JAVA", java);
        return pb;
    }

    /** Each command line of {@code lines} ended with status 0 and printed what {@link #PRINTS} says. */
    private static void assertEachLinePrints(List<String> lines, String stdout, String stderr) {
        List<String> commands = lines.stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        Matcher status = STATUS.matcher(stdout);
        int from = 0;
        for (String command : commands) {
            assertTrue(status.find(), "no status for " + command + "\nstdout: " + stdout + "\nstderr: " + stderr);
            assertEquals("0", status.group(1), command + "\nstderr: " + stderr);
            String printed = stdout.substring(from, status.start());
            from = status.end();
            String expected = "";
            for (Map.Entry<String, String> e : PRINTS.entrySet()) {
                if (command.replaceAll("/ipcb-readme-[0-9a-f-]+-", "/").contains(e.getKey())) {
                    expected = e.getValue();
                }
            }
            if (expected.startsWith("\\")) {
                String name = command.replaceAll(".* (/ipcb-readme-\\S+).*", "$1");
                assertTrue(printed.matches("(?s)" + expected.replace("/ORDERS", name).replace("/TICKS", name)),
                        command + " printed " + printed);
            } else {
                assertEquals(expected, printed, command);
            }
        }
    }
}
