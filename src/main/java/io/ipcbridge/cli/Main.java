package io.ipcbridge.cli;

import java.util.concurrent.locks.LockSupport;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ipcbridge} command line; its interface (names, exit statuses, output formats) is the
 * contract of {@code CLI.md}.
 *
 * <p>Exit statuses: 0 success; 1 the operation failed (one stderr line
 * {@code ipcbridge: CALL(OBJECT): ERRNO (text)}, or a plain sentence for an input refused before any
 * call); 2 usage error; 3 timed out or would block. stdout carries data only.
 */
@Command(name = "ipcbridge", mixinStandardHelpOptions = true, version = Main.VERSION,
        description = "POSIX IPC from the shell, through ipcbridge's own system calls.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {FifoCommand.class, ShmCommand.class, SemCommand.class, MqCommand.class, SockCommand.class,
                ConnCommand.class, RingCommand.class, LsCommand.class, ReapCommand.class, DemoCommand.class,
                BenchCommand.class, HelpCommand.class, AutoComplete.GenerateCompletion.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
            "0:success",
            "1:the operation failed (a system error, or an input refused)",
            "2:usage error (unknown option, malformed value)",
            "3:timed out or would block",
            "141:stdout was closed by its reader (as with SIGPIPE); nothing is printed"},
        footer = {"", "Data goes to stdout and comes from stdin as raw bytes; diagnostics go to stderr."})
public final class Main {
    /** What {@code --version} prints. */
    public static final String VERSION = "ipcbridge 0.1.0";

    private Main() {
    }

    /**
     * The configured command line, for {@link CommandLine#execute(String...)}: the exit-code mapping
     * and the one-line error handlers are installed; nothing calls {@link System#exit}.
     *
     * @return a new command line, ready for {@code execute}
     */
    public static CommandLine commandLine() {
        ExitCodes exitCodes = new ExitCodes();
        CommandLine cmd = new CommandLine(Main.class);
        // An argument is taken as given (CLI.md: each MESSAGE is one message): picocli would replace
        // "@FILE" by the words of FILE when it exists.
        cmd.setExpandAtFiles(false);
        cmd.setExitCodeExceptionMapper(exitCodes);
        cmd.setExecutionExceptionHandler(exitCodes);
        cmd.setParameterExceptionHandler(exitCodes);
        // picocli lets an Error (OutOfMemoryError, StackOverflowError...) out of execute() with a stack
        // trace; make it an exception for the handler, so that it too ends as one line and exit 1.
        CommandLine.IExecutionStrategy runLast = new CommandLine.RunLast();
        cmd.setExecutionStrategy(parseResult -> {
            try {
                return runLast.execute(parseResult);
            } catch (Error e) {
                throw new CommandLine.ExecutionException(parseResult.commandSpec().commandLine(), ExitCodes.describe(e),
                        CommandFailure.internal(e));
            }
        });
        // picocli hides generate-completion by default; CLI.md names it, so list it.
        cmd.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(false);
        return cmd;
    }

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the command-line arguments
     */
    public static void main(String[] args) {
        int status;
        CommandLine cmd;
        try {
            Argv.capture(args);
            Stdout.install();
            cmd = commandLine();
            status = cmd.execute(args);
        } catch (Throwable t) { // a last resort: whatever escaped is still one line, exit 1 (CLI.md)
            System.err.println("ipcbridge: " + ExitCodes.describe(t));
            if (ExitCodes.debug()) {
                t.printStackTrace();
            }
            System.err.flush();
            System.exit(ExitCodes.FAILED);
            return;
        }
        // What picocli printed itself (--version, --help) or a command printed through getOut()
        // (info, ls, sem value) must not be lost silently: a failed write of it ends the run too.
        cmd.getOut().flush();
        System.out.flush();
        if (status == ExitCodes.OK && Stdout.error() != null) {
            CommandFailure failure = Stdout.failure();
            if (!failure.quiet()) {
                cmd.getErr().println("ipcbridge: " + failure.getMessage());
                cmd.getErr().flush();
            }
            status = failure.exitCode();
        }
        if (SockCommand.OnExit.stopping()) {
            // A signal is stopping the JVM, which will exit with 128 + the signal once its hooks have
            // run; an exit from here could come first and end it with this status instead.
            for (;;) {
                LockSupport.park();
            }
        }
        System.exit(status);
    }
}
