package io.ipcbridge.cli;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The send and receive loops that {@code mq} and {@code ring} share (CLI.md: ring send and receive
 * behave "as mq send/receive"): where the messages come from, the size check before anything is
 * sent, one wait limit for the whole command, and the exit-3 line that says how far it got.
 */
final class Messaging {
    private Messaging() {
    }

    /**
     * What the one-line diagnostics name: the object ("/orders"), its kind ("queue"), the call that
     * found nothing or no room at once, and the one that waited in vain (mq_send and mq_timedsend).
     */
    record Labels(String object, String kind, String call, String timedCall) {
    }

    /** Sends one message; for {@link #send}. */
    @FunctionalInterface
    interface Target {
        /**
         * Sends {@code message}, waiting up to {@code timeout} for room (null: as long as it takes).
         *
         * @return false if there was no room in time; nothing was sent then
         */
        boolean send(byte[] message, Duration timeout) throws IOException, InterruptedException;
    }

    /** Takes one message; for {@link #receive}. */
    @FunctionalInterface
    interface Source<T> {
        /** Takes a message, waiting up to {@code timeout} (null: as long as it takes; zero: not at all). */
        Optional<T> receive(Duration timeout) throws IOException, InterruptedException;
    }

    /**
     * For --all: what is there when it starts taking without waiting, so that it takes those and no
     * more (a producer that keeps sending would otherwise keep it taking for ever).
     */
    @FunctionalInterface
    interface Backlog {
        /** Looks at what is there now; the test it returns says when those have been taken. */
        Taken mark() throws IOException;
    }

    /** For {@link Backlog}. */
    @FunctionalInterface
    interface Taken {
        /** Whether what was there at the mark has been taken, {@code n} messages after it. */
        boolean after(long n) throws IOException;
    }

    /** Writes one message to stdout; for {@link #receive}. */
    @FunctionalInterface
    interface Sink<T> {
        /** Writes {@code message}; {@link CommandFailure#stdoutClosed()} when stdout has gone. */
        void write(T message) throws CommandFailure;
    }

    /**
     * Sends each of {@code messages} (the bytes of the arguments as given, {@link Argv}); with none,
     * all of stdin as one message, or with {@code lines} each line of stdin without its "\n". Every
     * argument, or stdin, is checked against {@code max} before anything is sent (exit 1); lines are
     * sent as they come. A message without room within {@code limit} (null: no limit) ends it with
     * exit 3.
     *
     * @param limitName what {@code max} is called ("message size")
     */
    static void send(Labels labels, String limitName, int max, Duration limit, List<String> messages, boolean lines,
            Target target) throws IOException, InterruptedException, CommandFailure {
        String prefix = labels.call() + "(" + labels.object() + "): ";
        String limitText = "the " + labels.kind() + "'s " + limitName + ", " + max + " bytes";
        Sender sender = new Sender(labels, limit, target);
        if (lines) {
            InputStream in = new BufferedInputStream(System.in);
            for (byte[] line; (line = RawIo.readLine(in, max)) != null; ) {
                if (line.length > max) {
                    throw CommandFailure.refused(prefix + "line " + (sender.sent + 1) + " of stdin is longer than "
                            + limitText + "; it and the lines after it were not sent (" + sender.sent + " were)");
                }
                sender.send(line, -1);
            }
        } else if (messages.isEmpty()) {
            byte[] all = RawIo.readStdin(max);
            if (RawIo.stdinHasMore()) {
                throw CommandFailure.refused(prefix + "stdin holds more than " + limitText + "; nothing was sent");
            }
            sender.send(all, 1);
        } else {
            List<byte[]> all = new ArrayList<>();
            for (byte[] bytes : Argv.bytesOf(messages)) {
                if (bytes.length > max) {
                    throw CommandFailure.refused(prefix + "MESSAGE " + (all.size() + 1) + " has " + bytes.length
                            + " bytes, more than " + limitText + "; nothing was sent");
                }
                all.add(bytes);
            }
            for (byte[] m : all) {
                sender.send(m, all.size());
            }
        }
    }

    /** Sends messages within one wait limit, counting them for the exit-3 message. */
    private static final class Sender {
        private final Labels labels;
        private final Duration limit;
        private final Target target;
        private final long start = System.nanoTime();
        int sent;

        Sender(Labels labels, Duration limit, Target target) {
            this.labels = labels;
            this.limit = limit;
            this.target = target;
        }

        /** Sends one message of {@code total} (-1: unknown), or fails with exit 3 when there is no room. */
        void send(byte[] message, int total) throws IOException, InterruptedException, CommandFailure {
            if (!target.send(message, limit == null ? null : WaitOptions.remaining(start, limit))) {
                String count = "; " + sent + (total >= 0 ? " of " + total : "") + " message" + (total == 1 ? "" : "s")
                        + " sent";
                throw limit.isZero() ? CommandFailure.wouldBlock(labels.call(), labels.object(),
                        "the " + labels.kind() + " is full" + count)
                        : CommandFailure.timedOut(labels.timedCall(), labels.object(), "the " + labels.kind()
                                + " stayed full for " + Durations.format(limit) + count);
            }
            sent++;
        }
    }

    /**
     * Takes --count N messages, or with --all those there are now (waiting up to --timeout for the
     * first; those {@code backlog} finds once it takes without waiting, and no more), and writes each
     * through {@code sink} as it comes, so that a closed stdout stops the taking. Fewer than N within
     * the wait limit is exit 3, after those that came were written.
     */
    static <T> void receive(Labels labels, ReceiveOptions options, Source<T> source, Backlog backlog, Sink<T> sink)
            throws IOException, InterruptedException, CommandFailure {
        boolean all = options.all();
        long count = options.count();
        Duration limit = options.limit();
        long start = System.nanoTime();
        boolean waitForFirst = all && limit != null && !limit.isZero();
        // CLI-04: once stdout's reader has gone, no further message is taken, even by a receive that
        // is waiting for one when it goes (the watch interrupts it), nor by one that would not wait
        // (stdout is looked at before each take, not only as the watcher thread last saw it)
        Stdout.whileReaderStays(watch -> {
            Taken taken = null;
            long mark = waitForFirst ? 1 : 0; // where the taking without waiting starts
            for (long received = 0; all || received < count; received++) {
                if (watch.readerGoneNow()) {
                    throw CommandFailure.stdoutClosed();
                }
                if (all && received == mark) {
                    taken = backlog.mark();
                }
                if (taken != null && taken.after(received - mark)) {
                    break;
                }
                Optional<T> m = take(labels, all, received < mark, count, received, limit, start, source);
                if (m.isEmpty()) {
                    break;
                }
                try {
                    sink.write(m.get());
                } catch (CommandFailure f) {
                    // Taken off the queue, so gone from it: do not lose it silently (a closed stdout stays
                    // quiet, whileReaderStays makes sure of it when the watch saw the reader go).
                    throw f.withDetail(": 1 message received and not written");
                }
            }
        });
    }

    /**
     * The next message; empty when --all has taken what there is (waiting only for its first, when
     * {@code allWaits}); exit 3 when --count N runs short.
     */
    private static <T> Optional<T> take(Labels labels, boolean all, boolean allWaits, long count, long received,
            Duration limit, long start, Source<T> source) throws IOException, InterruptedException, CommandFailure {
        if (all) {
            return source.receive(allWaits ? WaitOptions.remaining(start, limit) : Duration.ZERO);
        }
        Optional<T> m = source.receive(limit == null ? null : WaitOptions.remaining(start, limit));
        if (m.isEmpty()) {
            String got = count == 1 ? "" : "; " + received + " of " + count + " messages received";
            throw limit.isZero()
                    ? CommandFailure.wouldBlock(labels.call(), labels.object(), "the " + labels.kind()
                            + " is empty" + got)
                    : CommandFailure.timedOut(labels.timedCall(), labels.object(), "no message within "
                            + Durations.format(limit) + got);
        }
        return m;
    }
}
