package io.ipcbridge.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ipcbridge.pipe.Pipe;
import io.ipcbridge.process.ChildProcess;
import io.ipcbridge.process.Command;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Races this JVM against C racers (native-tests/excl_race.c) to create the same names with
 * O_CREAT|O_EXCL: in each round every racer is started on name PREFIX-i at the same moment as the
 * Java attempt, and exactly one of them must have created it.
 */
public final class ExclusiveRace {
    private ExclusiveRace() {
    }

    /** One Java attempt on a name. */
    @FunctionalInterface
    public interface Attempt {
        /** Tries to create {@code name} exclusively: true if created, false on EEXIST. */
        boolean create(String name) throws Exception;
    }

    /**
     * Runs {@code rounds} rounds with {@code racers} C racers of {@code kind} ("mq" or "shm"),
     * calling {@code unlink} on each name after its round, and fails unless every name had exactly
     * one winner.
     *
     * @return how many rounds Java won (for the message; any number is correct)
     */
    public static int run(String kind, String prefix, int racers, int rounds, Attempt java, Created.Unlink unlink)
            throws Exception {
        List<Pipe> pipes = new ArrayList<>();
        List<ChildProcess> children = new ArrayList<>();
        List<OutputStream> go = new ArrayList<>();
        List<BufferedReader> answers = new ArrayList<>();
        int javaWins = 0;
        try {
            for (int r = 0; r < racers; r++) {
                Pipe in = Pipe.open();
                Pipe out = Pipe.open();
                pipes.add(in);
                pipes.add(out);
                children.add(Command.of(Peers.path("excl_race"), kind, prefix, Integer.toString(rounds))
                        .stdin(in.source()).stdout(out.sink()).start());
                in.source().close();
                out.sink().close();
                go.add(in.sink().outputStream());
                BufferedReader reader = new BufferedReader(new InputStreamReader(out.source().inputStream(),
                        StandardCharsets.US_ASCII));
                answers.add(reader);
                assertEquals("ready", reader.readLine(), "racer " + r + " started");
            }
            for (int i = 0; i < rounds; i++) {
                String name = prefix + "-" + i;
                for (OutputStream o : go) {
                    o.write('\n');
                    o.flush();
                }
                try {
                    Callable<Boolean> mine = () -> java.create(name);
                    int winners = mine.call() ? 1 : 0;
                    javaWins += winners;
                    for (BufferedReader a : answers) {
                        String answer = a.readLine();
                        assertTrue("won".equals(answer) || "lost".equals(answer), "racer answered: " + answer);
                        winners += answer.equals("won") ? 1 : 0;
                    }
                    assertEquals(1, winners, name + " was created by exactly one racer");
                } finally {
                    try {
                        unlink.unlink(name);
                    } catch (IOException none) {
                        // no racer created it: the assertion above says so
                    }
                }
            }
            for (ChildProcess c : children) {
                assertTrue(c.waitFor().success(), "racer ended well");
            }
            return javaWins;
        } finally {
            for (ChildProcess c : children) {
                c.close();
            }
            for (Pipe p : pipes) {
                p.close();
            }
        }
    }
}
