package io.ipcbridge;

/**
 * What every ipcbridge exception that stems from a failed system call tells: the call, the object
 * it was made on, and the errno. The message always reads {@code call(object): ENAME (text)}, e.g.
 * {@code mkfifo(/tmp/x): EEXIST (File exists)}.
 */
public interface IpcError {
    /** The failed call, its object and its errno. */
    SyscallFailure failure();

    /** The errno number, e.g. 17. */
    default int errno() {
        return failure().errno();
    }

    /** The errno symbol, e.g. {@code "EEXIST"}. */
    default String errnoName() {
        return failure().errnoName();
    }

    /** The failed call, e.g. {@code "mkfifo"}. */
    default String call() {
        return failure().call();
    }

    /** The object the call was made on: a path, a name or a descriptor, e.g. {@code "/tmp/x"}. */
    default String object() {
        return failure().object();
    }
}
