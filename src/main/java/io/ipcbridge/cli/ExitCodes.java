package io.ipcbridge.cli;

import io.ipcbridge.IpcError;
import io.ipcbridge.IpcSecurityException;
import io.ipcbridge.SyscallFailure;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IExitCodeExceptionMapper;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The exit statuses of CLI.md and the one place that turns exceptions into them and into the one
 * stderr line {@code ipcbridge: MESSAGE}:
 * <ul>
 * <li>0: success;</li>
 * <li>1: the operation failed: a failed system call ({@link IpcError}, whose message already reads
 *     {@code call(object): ENAME (text)}), another {@link java.io.IOException}, or an input refused
 *     ({@link IpcSecurityException}, {@link IllegalArgumentException});</li>
 * <li>2: usage error: anything picocli could not parse, converters included (an invalid object
 *     name among them: {@link ObjectNames} refuses it before the library could);</li>
 * <li>3: timed out or would block ({@link CommandFailure#timedOut});</li>
 * <li>141: stdout was closed by its reader (no message), as a command killed by SIGPIPE.</li>
 * </ul>
 * No stack traces, unless the environment variable {@code IPCBRIDGE_DEBUG} is set.
 */
final class ExitCodes implements IExitCodeExceptionMapper, IExecutionExceptionHandler, IParameterExceptionHandler {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int TIMED_OUT = 3;
    static final int STDOUT_CLOSED = 128 + 13;

    private static final String PREFIX = "ipcbridge: ";

    @Override
    public int getExitCode(Throwable exception) {
        if (exception instanceof CommandFailure failure) {
            return failure.exitCode();
        }
        if (exception instanceof ParameterException) {
            return USAGE;
        }
        return FAILED;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        if (SockCommand.OnExit.stopping()) {
            // A shutdown hook closed the socket under accept or read (SIGINT/SIGTERM): the JVM exits
            // with 128 + the signal, as --help says; no line for the close it caused.
            return FAILED;
        }
        if (!(ex instanceof CommandFailure failure && failure.quiet())) {
            err.println(PREFIX + describe(ex));
        }
        if (debug()) {
            ex.printStackTrace(err);
        }
        err.flush();
        return getExitCode(ex);
    }

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        PrintWriter err = cmd.getErr();
        // One line (CLI.md). For an unknown option or command, picocli's "did you mean" suggestions
        // and the help hint are folded into it; a bad value's message says enough on its own.
        StringBuilder line = new StringBuilder(PREFIX).append(oneLine(ex.getMessage()));
        if (ex instanceof UnmatchedArgumentException unmatched) {
            line.append(" (");
            if (!unmatched.getSuggestions().isEmpty()) {
                line.append("did you mean ").append(String.join(" or ", unmatched.getSuggestions().stream()
                        .map(s -> "'" + s + "'").toList())).append("? ");
            }
            line.append("see '").append(cmd.getCommandSpec().qualifiedName()).append(" --help')");
        }
        err.println(line);
        if (debug()) {
            ex.printStackTrace(err);
        }
        err.flush();
        return getExitCode(ex);
    }

    /** The message of the stderr line for {@code e}, without the {@code ipcbridge: } prefix. */
    static String describe(Throwable e) {
        // the native layer refused to load (another platform): its message, not "internal error"
        if (e instanceof ExceptionInInitializerError && e.getCause() instanceof UnsupportedOperationException no) {
            return oneLine(no.getMessage());
        }
        String message;
        if (e instanceof IpcError || e instanceof IpcSecurityException || e instanceof CommandFailure) {
            message = e.getMessage();
        } else if (e instanceof ClosedByInterruptException || e instanceof InterruptedException) {
            message = "interrupted";
        } else if (e instanceof FileSystemException fs) {
            // The JDK's own (from java.nio.file calls): the message alone would be just the path.
            String reason = fs.getReason() != null ? fs.getReason()
                    : e instanceof NoSuchFileException ? "No such file or directory"
                    : e instanceof FileAlreadyExistsException ? "File exists"
                    : e instanceof AccessDeniedException ? "Permission denied"
                    : e.getClass().getSimpleName();
            // Mostly from opening a file (--authkey-file, bench's output files): open(FILE): ENAME (text).
            String file = fs.getFile() + (fs.getOtherFile() != null ? " -> " + fs.getOtherFile() : "");
            message = errnoForm("open", file, reason);
        } else if (e instanceof IOException || e instanceof IllegalArgumentException) {
            message = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        } else if (e instanceof OutOfMemoryError) {
            message = "out of memory (" + e.getMessage() + "): the Java heap is too small for this input "
                    + "(raise -Xmx through IPCBRIDGE_JAVA_OPTS)";
        } else {
            message = "internal error: " + e; // a bug: say what it was, still on one line
        }
        return oneLine(message);
    }

    /**
     * {@code call(object): ENAME (text)} for a JDK exception that gives only strerror's {@code text}
     * (e.g. "Is a directory" from a read of stdin): the errno whose text it is, found in the
     * library's table; {@code call(object): text} when none matches (a translated text, say).
     */
    static String errnoForm(String call, String object, String text) {
        if (text != null) {
            for (int errno = 1; errno < 256; errno++) {
                String m = new SyscallFailure(call, object, errno).message(null);
                if (m.endsWith(" (" + text + ")") && !m.contains("): errno ")) {
                    return m;
                }
            }
        }
        return call + "(" + object + "): " + text;
    }

    /**
     * {@code e}, from a read or write of {@code file} through java.nio.file, with the message
     * {@code call(file): ENAME (text)}; the JDK's own says only strerror's text. A
     * {@link FileSystemException} (from opening the file) stays as it is: {@link #describe} names it.
     */
    static IOException named(String call, Path file, IOException e) {
        return e instanceof FileSystemException ? e : new IOException(errnoForm(call, file.toString(), e.getMessage()), e);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /** Whether {@code IPCBRIDGE_DEBUG} is set: an error line is followed by its stack trace. */
    static boolean debug() {
        String v = System.getenv("IPCBRIDGE_DEBUG");
        return v != null && !v.isEmpty();
    }
}
