package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.testing.Fds;
import io.ipcbridge.testing.Peers;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * {@code ipcbridge bench} in its smallest mode: every mechanism with tiny counts and one repeat,
 * against the real C peers and python3. Only the shape of the outputs is checked, never a timing.
 */
class BenchCommandTest {
    /**
     * Results of a run of every mechanism: latency and throughput pairs of pipe, fifo, unix-stream,
     * unix-seqpacket, unix-dgram, tcp, mq, shm-sem, shm-spin (latency only) and conn.
     */
    private static final int RESULTS = 8 + 8 + 10 + 6 + 6 + 10 + 6 + 6 + 5 + 6 + 3 + 3 + 10 + 5;

    @TempDir
    Path dir;

    @Test
    void everyMechanismRunsAndEveryOutputIsWellFormed() throws Exception {
        Peers.path("bench_peer"); // skips the test when the C peers were not built
        Path json = dir.resolve("r.json");
        Path csv = dir.resolve("r.csv");
        Path svg = dir.resolve("r.svg");
        // once first, so that what the JVM opens for good on first use (jffi's stub, the JDK's own
        // descriptors) is there before the snapshot
        assertEquals(0, Cli.run("bench", "--bytes", "128k", "--pings", "2", "--warmup", "1", "--repeat", "1").status());
        Map<Integer, String> before = Fds.snapshot();
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(150), () -> Cli.run("bench", "--bytes", "256k",
                "--pings", "20", "--warmup", "5", "--repeat", "1", "--json", json.toString(), "--csv", csv.toString(),
                "--plot", svg.toString()));
        assertEquals(0, r.status(), r::toString);
        Fds.assertNoneAdded(before);

        // the tables: one row per mechanism under each heading, one column per pair
        List<String> out = r.out().lines().toList();
        int latency = out.indexOf("Latency: median round trip, us (ratio to c-c; lower is better)");
        assertTrue(latency > 0, r::toString);
        assertEquals(List.of("mechanism", "c-c", "java-c", "java-java", "jdk-c", "jdk-java", "python-python",
                "java-python"), List.of(out.get(latency + 1).trim().split("\\s+")), "the latency table's columns");
        assertTrue(out.get(latency + 2).startsWith("pipe "), r::toString);
        assertTrue(out.get(latency + 3).matches("fifo +[0-9.]+ +[0-9.]+ \\([0-9.]+x\\) .*"),
                () -> "a value, then a value and its ratio to c-c: " + out.get(latency + 3));
        assertTrue(out.contains("Throughput: MB/s, 10^6 bytes/s (ratio to c-c; higher is better)"), r::toString);
        assertEquals(RESULTS, r.err().lines().filter(l -> l.matches("\\[\\d+/" + RESULTS + "] .*")).count(),
                () -> "one progress line per run: " + r.err());

        // JSON: parsed by Python's json module, one result each with its sample and a unit per figure of it
        String check = "import json, sys; d = json.load(open(sys.argv[1])); r = d['results'];"
                + "assert all(len(x['samples']) == 1 for x in r);"
                + "assert all(len(x['sample-units']) == len(x['samples'][0]) for x in r);"
                + "print(len(r), d['settings']['repeat'])";
        Process p = new ProcessBuilder("python3", "-c", check, json.toString()).redirectErrorStream(true).start();
        String parsed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), parsed);
        assertEquals(RESULTS + " 1", parsed, "json.load read every result");

        // CSV: the header, then one line per result with every column
        List<String> lines = Files.readAllLines(csv);
        assertEquals(BenchReport.CSV_HEADER, lines.get(0));
        assertEquals(RESULTS, lines.size() - 1);
        int columns = BenchReport.CSV_HEADER.split(",").length;
        for (String line : lines.subList(1, lines.size())) {
            assertEquals(columns, line.split(",", -1).length, line);
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("conn,throughput,python-python,MB/s,")), lines::toString);

        // SVG: well-formed XML with one bar per result
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getTagName());
        NodeList rects = doc.getElementsByTagName("rect");
        int bars = 0;
        for (int i = 0; i < rects.getLength(); i++) {
            if ("bar".equals(((Element) rects.item(i)).getAttribute("class"))) {
                bars++;
            }
        }
        assertEquals(RESULTS, bars, "one bar per result");
        assertLeftNothing();
    }

    @Test
    void pngDecodes() throws Exception {
        Peers.path("bench_peer");
        Path png = dir.resolve("r.png");
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("bench", "pipe",
                "--bytes", "128k", "--pings", "10", "--warmup", "1", "--repeat", "1", "--plot", png.toString()));
        assertEquals(0, r.status(), r::toString);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "ImageIO decodes the PNG");
        assertTrue(image.getWidth() > 100 && image.getHeight() > 100, "an image of some size");
    }

    @Test
    void anUnknownMechanismIsAUsageError() throws IOException {
        Cli.Result r = Cli.run("bench", "carrier-pigeon");
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: unknown mechanism 'carrier-pigeon'"), r::toString);
        Cli.Result plot = Cli.run("bench", "pipe", "--plot", dir.resolve("chart.gif").toString());
        assertEquals(2, plot.status(), "--plot takes .svg or .png only: " + plot);
    }

    /**
     * A throughput run must come in two receives at least, or the receiver has nothing to time: 64 KiB
     * ran, exit 0, with "Infinity" MB/s in every throughput cell, NaN ratios and null in the JSON.
     */
    @Test
    void tooFewBytesToTimeAreAUsageError() {
        Cli.Result r = Cli.run("bench", "pipe", "--bytes", "64k", "--pings", "2", "--warmup", "0", "--repeat", "1");
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: --bytes must be at least 128KiB"), r::toString);
        assertTrue(!r.out().contains("Infinity"), r::toString);
    }

    /**
     * A size past every limit saturates (Sizes) for the command to refuse it with exit 1 (CLI.md), as
     * the demo does: the bench ran it, a throughput run of 2^63 - 1 bytes, until bench_peer's 300 s
     * alarm failed it.
     */
    @Test
    void aSizePastEveryLimitIsRefusedBeforeAnyRun() {
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Cli.run("bench", "pipe", "--bytes",
                "99999999999999999999", "--pings", "2", "--warmup", "0", "--repeat", "1"));
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.err().startsWith("ipcbridge: --bytes: the bench moves at most"), r::toString);
        assertEquals("", r.out(), r::toString);
    }

    /**
     * An output file that cannot be written is refused before the run, not after it: the tables of a
     * run of minutes were printed, then "open(...): ENOENT", exit 1, and its JSON was lost.
     */
    @Test
    void anOutputFileThatCannotBeWrittenIsRefusedBeforeTheRun() {
        for (String option : List.of("--json", "--csv", "--plot")) {
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Cli.run("bench", "pipe", "--bytes",
                    "128k", "--pings", "2", "--warmup", "0", "--repeat", "1", option,
                    dir.resolve("no-such-dir").resolve("r.svg").toString()));
            assertEquals(1, r.status(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: " + option + " "), r::toString);
            assertTrue(!r.err().contains("[1/"), () -> "no run: " + r);
            assertEquals("", r.out(), r::toString);
        }
    }

    /**
     * CLI.md exit 2, "binary-safe": an output FILE whose name is no UTF-8 (0xff, which the JVM decodes
     * as U+FFFD) was written to another file (bytes ef bf bd); it is a usage error, as fifo PATH is.
     */
    @Test
    void anOutputFileWhoseNameIsNotUtf8IsAUsageErrorNotAnotherFile() throws Exception {
        for (String option : List.of("--json", "--csv", "--plot")) {
            Cli.Child r = Cli.withLastArgumentNotUtf8(dir, dir.resolve("r-").toString(), "bench", "pipe", "--bytes",
                    "128k", "--pings", "2", "--warmup", "0", "--repeat", "1", option);
            assertEquals(2, r.status(), r.err());
            assertTrue(r.err().startsWith("ipcbridge: ") && r.err().contains("not UTF-8"), r.err());
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith("r-")).toList());
            }
        }
    }

    /**
     * An output file whose write fails after the run (a full disk, here /dev/full) is one line in
     * CLI.md's errno form: it was "ipcbridge: No space left on device", naming neither call nor file.
     */
    @Test
    void aFailedWriteOfAnOutputFileNamesTheCallTheFileAndTheErrno() {
        Peers.path("bench_peer");
        for (String option : List.of("--json", "--csv")) {
            Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("bench", "pipe", "--bytes",
                    "128k", "--pings", "2", "--warmup", "0", "--repeat", "1", option, "/dev/full"));
            assertEquals(1, r.status(), r::toString);
            assertTrue(r.err().endsWith("\nipcbridge: write(/dev/full): ENOSPC (No space left on device)"
                    + System.lineSeparator()), r::toString);
        }
    }

    /** shm-sem's bounded buffer with a --bytes that is not a whole number of its 64 KiB records (it failed, exit 1). */
    @Test
    void shmSemRunsWithBytesThatAreNotWholeRecords() {
        Peers.path("bench_peer");
        Cli.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> Cli.run("bench", "shm-sem",
                "--bytes", "200000", "--pings", "2", "--warmup", "0", "--repeat", "1"));
        assertEquals(0, r.status(), r::toString);
    }

    /** The bench removed every queue, semaphore and segment it named. */
    private static void assertLeftNothing() throws IOException {
        String mine = "ipcb-bench-" + ProcessHandle.current().pid() + "-";
        for (String d : new String[] {"/dev/shm", "/dev/mqueue"}) {
            if (Files.isDirectory(Path.of(d))) {
                try (Stream<Path> left = Files.list(Path.of(d))) {
                    assertEquals(List.of(), left.map(x -> x.getFileName().toString()).filter(f -> f.contains(mine))
                            .toList(), "nothing left in " + d);
                }
            }
        }
    }
}
