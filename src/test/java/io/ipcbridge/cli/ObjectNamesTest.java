package io.ipcbridge.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.mq.MessageQueue;
import io.ipcbridge.sem.Semaphore;
import io.ipcbridge.shm.SharedMemory;
import java.nio.file.NoSuchFileException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The NAME converters (CLI.md "Names", RELIABILITY.md §2.2, MQ-04, SEM-04, SHM-16) refuse exactly
 * what CLI.md makes a usage error (another slash, an empty name, more than 255 bytes; exit 2), all of
 * which the library refuses too; the library's further rules are its own, exit 1.
 */
class ObjectNamesTest {
    static Stream<String> names() {
        String pid = Long.toString(ProcessHandle.current().pid());
        return Stream.of("noslash-" + pid, "/ok-" + pid, "/a.b_c-" + pid, "", "/", "/a/b", "//x", "a/b", "/.", "/..",
                "/..." + pid, "/sem.x" + pid, "sem.y" + pid, "/a b", "/a\0b", "/é", "/\u00e9t\u00e9", "/a\n",
                "/" + "m".repeat(251), "/" + "m".repeat(252), "/" + "m".repeat(255), "/" + "m".repeat(256),
                "/x$y", "/tab\t", "/@");
    }

    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("names")
    void convertersAgreeWithTheLibrary(String name) throws Exception {
        agree(new ObjectNames.Queue(), name, () -> MessageQueue.open(name, MessageQueue.Access.READ).close());
        agree(new ObjectNames.Segment(), name, () -> SharedMemory.open(name, true).close());
        agree(new ObjectNames.Sem(), name, () -> Semaphore.open(name).close());
    }

    /** Opening a name that is valid but (with the pid in it) missing: NoSuchFileException, else IAE. */
    private static void agree(ITypeConverter<String> converter, String name, Open open) throws Exception {
        boolean libraryRefuses;
        try {
            open.run();
            throw new AssertionError("no object should exist by the name " + name);
        } catch (IllegalArgumentException refused) {
            libraryRefuses = true;
        } catch (NoSuchFileException missing) {
            libraryRefuses = false;
        }
        boolean cliRefuses;
        try {
            String canonical = converter.convert(name);
            assertTrue(canonical.startsWith("/") && canonical.endsWith(name.startsWith("/") ? name.substring(1) : name));
            cliRefuses = false;
        } catch (TypeConversionException refused) {
            cliRefuses = true;
        }
        String body = name.startsWith("/") ? name.substring(1) : name;
        boolean usageError = body.isEmpty() || body.contains("/") || body.contains("\0")
                || body.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255;
        assertEquals(usageError, cliRefuses, () -> converter.getClass().getSimpleName() + " on \"" + name
                + "\": only what CLI.md names is a usage error");
        assertTrue(!cliRefuses || libraryRefuses, () -> "the library refuses what " + converter.getClass()
                .getSimpleName() + " refuses: \"" + name + "\"");
    }

    @FunctionalInterface
    private interface Open {
        void run() throws Exception;
    }

    @Test
    void theLeadingSlashIsAdded() throws Exception {
        assertEquals("/orders", new ObjectNames.Queue().convert("orders"));
        assertEquals("/orders", new ObjectNames.Queue().convert("/orders"));
    }

    @Test
    void anEmptyNameIsAUsageErrorForEveryCommand() {
        for (String kind : new String[] {"mq", "shm", "sem"}) {
            Cli.Result r = Cli.run(kind, "rm", "");
            assertEquals(2, r.status(), r::toString);
            assertTrue(r.err().contains("'' is not a valid name: it is empty"), r::toString);
        }
    }

    @Test
    void namesTheLibraryRefusesAreExitOneWithOneSentence() {
        // CLI.md: exit 2 only for another slash, an empty name or more than 255 bytes; the rest is the
        // library's to refuse (exit 1), and nothing is created.
        String[][] cases = {{"mq", "create", "/fixcli sp"}, {"mq", "create", "/fixcli-\u00e9"},
            {"shm", "create", "/sem.fixcli-x", "--size", "4096"}, {"sem", "create", "/" + "f".repeat(252)},
            {"sem", "create", "/" + "f".repeat(255)}, {"mq", "create", "/.."}};
        for (String[] args : cases) {
            Cli.Result r = Cli.run(args);
            assertEquals(1, r.status(), r::toString);
            assertTrue(r.err().startsWith("ipcbridge: "), r::toString);
            assertEquals(1, r.err().lines().count(), r::toString);
        }
        Cli.Result tooLong = Cli.run("mq", "create", "/" + "f".repeat(256));
        assertEquals(2, tooLong.status(), tooLong::toString);
        Cli.Result slash = Cli.run("shm", "create", "/fixcli/x", "--size", "4096");
        assertEquals(2, slash.status(), slash::toString);
    }
}
