package io.ipcbridge;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.conn.Connection;
import io.ipcbridge.conn.Listener;
import io.ipcbridge.mq.Message;
import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.pipe.Fifo;
import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.pipe.PipeSource;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import io.ipcbridge.process.ExitStatus;
import io.ipcbridge.process.Pipeline;
import io.ipcbridge.process.Stage;
import io.ipcbridge.ring.Ring;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import io.ipcbridge.socket.Address;
import io.ipcbridge.socket.Socket;
import io.ipcbridge.testing.Names;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The examples of README.md's tour, as they are written there, so that they keep working. */
class ReadmeExamplesTest {
    @TempDir
    Path dir;

    @Test
    void everyLineOfTheReadmesJavaExamplesIsHere() throws Exception {
        // the tests below use their own names and paths, and the Listener example starts a Python
        // Client between listen and accept: its two resources are two try statements here
        Set<String> here = Files.readAllLines(Path.of("src/test/java/io/ipcbridge/ReadmeExamplesTest.java")).stream()
                .map(ReadmeExamplesTest::blanksFolded).collect(Collectors.toSet());
        Matcher block = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(Path.of("README.md")));
        int blocks = 0;
        for (; block.find(); blocks++) {
            for (String line : block.group(1).split("\n")) {
                String code = blanksFolded(line).replaceAll("\"/(orders|counters|ticks)\"", "name")
                        .replace("\"/myapp\"", "prefix").replace("Path.of(\"/tmp/app.sock\")", "path")
                        .replace("\"key\".getBytes(UTF_8));", "\"key\".getBytes(UTF_8))) {")
                        .replace("Connection c = listener.accept()) { // python3: Client('/tmp/app.sock', authkey=b'key')",
                                "try (Connection c = listener.accept()) {");
                assertTrue(code.isEmpty() || code.startsWith("//") || here.contains(code), "not in this test: " + line);
            }
        }
        assertEquals(10, blocks, "the README's Java examples, one test each");
    }

    @Test
    void theReadmesDependencyIsThisBuild() throws Exception {
        Matcher xml = Pattern.compile("```xml\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(Path.of("README.md")));
        assertTrue(xml.find(), "README: \"In your own build\"");
        String pom = Files.readString(Path.of("pom.xml"));
        for (String element : List.of("groupId", "artifactId", "version")) {
            Pattern value = Pattern.compile("<" + element + ">([^<]*)</" + element + ">");
            Matcher inReadme = value.matcher(xml.group(1));
            Matcher inPom = value.matcher(pom); // the project's own come first
            assertTrue(inReadme.find() && inPom.find(), element);
            assertEquals(inPom.group(1), inReadme.group(1), element);
        }
    }

    /** {@code line} without leading and trailing blanks, and every run of blanks one space. */
    private static String blanksFolded(String line) {
        return line.strip().replaceAll("\\s+", " ");
    }

    @Test
    void aPipeOnFd3OfAChild() throws Exception {
        // README: "A pipe on fd 3 of a child"
        try (Pipe in = Pipe.open(); Pipe out = Pipe.open();
             ChildProcess child = Command.of("sh", "-c", "tr a-z A-Z <&3")
                     .fd(3, in.source()).stdout(out.sink()).start()) {
            in.source().close();                    // the child holds these ends now
            out.sink().close();
            in.sink().write(ByteBuffer.wrap("hello\n".getBytes(UTF_8)));
            in.sink().close();                      // end of file for the child
            String upper = new String(out.source().inputStream().readAllBytes(), UTF_8);  // "HELLO\n"
            ExitStatus status = child.waitFor();    // exit 0
            assertEquals("HELLO\n", upper);
            assertEquals(ExitStatus.exited(0), status);
        }
    }

    @Test
    void aPipeline() throws Exception {
        // README: "A pipeline"
        try (Pipeline.Run run = Pipeline.of(
                Stage.command("seq", "1", "100"),
                Stage.java((in, out) -> {                       // a Java stage: keep the multiples of 7
                    new String(in.readAllBytes(), UTF_8).lines()
                        .filter(l -> Integer.parseInt(l) % 7 == 0)
                        .forEach(l -> { try { out.write((l + "\n").getBytes(UTF_8)); } catch (Exception e) { throw new RuntimeException(e); } });
                    return 0;
                }),
                Stage.command("tail", "-n", "2")).start()) {
            String last = new String(run.output().inputStream().readAllBytes(), UTF_8);  // "91\n98\n"
            List<ExitStatus> pipestatus = run.waitFor();                               // [exit 0, exit 0, exit 0]
            assertEquals("91\n98\n", last);
            assertEquals("[exit 0, exit 0, exit 0]", pipestatus.toString());
        }
    }

    @Test
    void aFifoWithATimeout() throws Exception {
        // README: "A FIFO"
        Path path = dir.resolve("jobs.fifo");
        Fifo.create(path);                                                  // mode 0600
        Optional<PipeSource> reader = Fifo.openReader(path, Duration.ofMillis(200));
        assertEquals(Optional.empty(), reader);                             // nobody came: empty, no exception
        Fifo.delete(path);
    }

    @Test
    void aMessageQueue() throws Exception {
        // README: "A message queue"
        String name = Names.unique("orders");
        try (MessageQueue q = MessageQueue.createExclusively(name)) {    // the kernel's default size, mode 0600
            q.send("low".getBytes(UTF_8), 1);
            q.send("urgent".getBytes(UTF_8), 9);
            Message first = q.receive();                                   // "urgent", priority 9
            Optional<Message> next = q.receive(Duration.ofMillis(100));    // "low"
            ByteBuffer buf = ByteBuffer.allocateDirect(q.messageSize());   // a loop's buffer: nothing allocated per message
            q.send("bulk".getBytes(UTF_8), 0);
            int priority = q.receive(buf);                                 // 0; buf holds "bulk"
            assertEquals("urgent", first.text());
            assertEquals(9, first.priority());
            assertEquals("low", next.orElseThrow().text());
            assertEquals(0, priority);
            assertEquals("bulk", UTF_8.decode(buf.flip()).toString());
        } finally {
            MessageQueue.unlink(name);
        }
    }

    @Test
    void sharedMemoryAndASemaphoreInIt() throws Exception {
        // README: "Shared memory and a semaphore in it"
        String name = Names.unique("counters");
        try (SharedMemory shm = SharedMemory.createExclusively(name, 4096)) {
            Semaphore ready = Semaphore.initialize(shm, 0, 0);          // a sem_t at offset 0, as C sees it
            shm.setLongRelease(64, 42);                                  // C: atomic_store_explicit(.., memory_order_release)
            ready.release();
            ready.acquire();
            assertEquals(42, shm.getLongAcquire(64));
        } finally {
            SharedMemory.unlink(name);
        }
    }

    @Test
    void bytesPublishedForPeersThatMustNotChangeThem() throws Exception {
        // README: "Bytes published for peers that must not change them"
        try (Pipe out = Pipe.open();
             SharedMemory rates = SharedMemory.publish("rates", ByteBuffer.wrap("EUR 1.08\n".getBytes(UTF_8)));
             ChildProcess peer = Command.of("sh", "-c", "cat <&3; echo x 2>/dev/null >&3 || echo refused")
                     .fd(3, rates).stdout(out.sink()).start()) {
            out.sink().close();
            String seen = new String(out.source().inputStream().readAllBytes(), UTF_8);  // "EUR 1.08\nrefused\n"
            Set<SharedMemory.Seal> seals = rates.seals();                               // [SEAL, SHRINK, GROW, WRITE]
            assertEquals("EUR 1.08\nrefused\n", seen);
            assertEquals("[SEAL, SHRINK, GROW, WRITE]", seals.toString());
            assertEquals(ExitStatus.exited(0), peer.waitFor());
        }
    }

    @Test
    void aMessageRing() throws Exception {
        // README: "A message ring in shared memory"
        String name = Names.unique("ticks");
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, UTF_8));
        try (Ring ring = Ring.create(name, 1 << 20)) {                  // 1 MiB of records, mode 0600
            ring.offer(ByteBuffer.wrap("tick 1".getBytes(UTF_8)));          // no system call per message
            ring.offer(ByteBuffer.wrap("tick 2".getBytes(UTF_8)));
            byte[] first = ring.poll(Duration.ofSeconds(1));                // "tick 1"
            int handled = ring.poll(m -> System.out.println(UTF_8.decode(m)));   // a view in place: "tick 2"
            assertEquals("tick 1", new String(first, UTF_8));
            assertEquals(1, handled);
        } finally {
            System.setOut(stdout);
            Ring.unlink(name);
        }
        assertEquals("tick 2\n", printed.toString(UTF_8));
    }

    @Test
    void namesThatSurviveACrashAndTheirCleanup() throws Exception {
        // README: "Names that survive a crash, and their cleanup"
        String prefix = Names.unique("myapp");
        List<Reaper.Removed> leftovers = Reaper.reap(prefix);         // at start: what killed runs left behind
        String name = Reaper.name(prefix, "cache");                      // "/myapp.PID.START.PIDNS.cache"
        try (SharedMemory cache = SharedMemory.createExclusively(name, 1 << 16)) {
            cache.setLongRelease(0, 1);
            assertEquals(List.of(), leftovers);
            assertEquals(List.of(), Reaper.reap(prefix), "this process runs: its names stay");
        } finally {
            SharedMemory.unlink(name);                                    // a clean exit still unlinks
        }
    }

    @Test
    void passingADescriptorAndReadingThePeer() throws Exception {
        // README: "Passing a descriptor over an AF_UNIX socket"
        try (Socket.Pair pair = Socket.pair(Socket.Type.STREAM); Pipe pipe = Pipe.open()) {
            pair.first().sendDescriptors(ByteBuffer.wrap("fd".getBytes(UTF_8)), List.of(pipe.sink().descriptor()));
            List<Descriptor> received = pair.second().receiveDescriptors(ByteBuffer.allocate(8), 4);   // close-on-exec
            Socket.Credentials peer = pair.second().peerCredentials();                              // pid, uid, gid
            assertEquals(1, received.size());
            assertEquals(ProcessHandle.current().pid(), peer.pid());
            received.get(0).close();
        }
    }

    @Test
    void aListenerForPython() throws Exception {
        // README: "Talking to Python's multiprocessing.connection"
        Path path = dir.resolve("app.sock");
        Process python = null;
        try (Listener listener = Listener.listen(Address.unix(path), "key".getBytes(UTF_8))) {
            python = new ProcessBuilder("python3", "-c", "import sys\n"
                    + "from multiprocessing.connection import Client\n"
                    + "c = Client(sys.argv[1], authkey=b'key'); c.send_bytes(b'request'); print(c.recv_bytes().decode())",
                    path.toString()).start();
            try (Connection c = listener.accept()) {
                byte[] request = c.recvBytes();
                c.sendBytes("done".getBytes(UTF_8));
                assertEquals("request", new String(request, UTF_8));
            }
            assertEquals("done\n", new String(python.getInputStream().readAllBytes(), UTF_8));
        } finally {
            if (python != null) {
                python.destroy();
            }
        }
    }
}
