package io.ipcbridge.internal.posix;

/**
 * What fstat(2) tells of an open file: its type and permission bits, owner, links and size, and the
 * device and inode that tell it from another file at the same path.
 */
public record FileInfo(int mode, int uid, int gid, long nlink, long size, long device, long inode) {
    private static final int S_IFMT = 0170000;

    /** Whether {@code other} is the same file: the same device and inode. */
    public boolean isSameFile(FileInfo other) {
        return device == other.device && inode == other.inode;
    }

    /** S_ISFIFO. */
    public boolean isFifo() {
        return (mode & S_IFMT) == 0010000;
    }

    /** S_ISSOCK. */
    public boolean isSocket() {
        return (mode & S_IFMT) == 0140000;
    }

    /** S_ISLNK. */
    public boolean isSymbolicLink() {
        return (mode & S_IFMT) == 0120000;
    }

    /** The permission bits, e.g. 0600. */
    public int permissions() {
        return mode & 07777;
    }

    /** A word for the file type, for messages. */
    public String typeName() {
        switch (mode & S_IFMT) {
            case 0010000: return "FIFO";
            case 0020000: return "character device";
            case 0040000: return "directory";
            case 0060000: return "block device";
            case 0100000: return "regular file";
            case 0120000: return "symbolic link";
            case 0140000: return "socket";
            default: return "file of type " + Integer.toOctalString(mode & S_IFMT);
        }
    }
}
