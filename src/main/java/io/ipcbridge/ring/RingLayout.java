package io.ipcbridge.ring;

/**
 * The ring's layout in its shared memory object, the Java mirror of
 * {@code native-tests/include/ipcbridge_ring.h}: the same fields under the same names, in the same
 * order (a test compares them with the C compiler's {@code offsetof}). The header documents the
 * protocol; this class only places the bytes.
 */
final class RingLayout {
    /** "IPCBRING" in little-endian bytes. */
    static final long MAGIC = 0x474e495242435049L;
    static final int VERSION = 3;
    /** The flags bit of a multi-producer ring. */
    static final int MULTI_PRODUCER = 1;
    static final int MAX_PRODUCERS = 8;
    static final int HEADER_SIZE = 512;
    static final int RECORD_HEADER = 8;
    static final int ALIGNMENT = 8;
    static final int MIN_CAPACITY = 1024;
    static final int MAX_CAPACITY = 1 << 30;
    /** Record types; 0 means claimed but not committed. */
    static final int MESSAGE = 1;
    static final int PADDING = 2;
    /** A claim its producer gave up (closed before committing): skipped like padding, sized like a message. */
    static final int ABANDONED = 3;

    /** The fields of struct ipcb_ring_header and struct ipcb_ring_record, in declaration order. */
    enum Field {
        MAGIC(0, 8), VERSION(8, 4), FLAGS(12, 4), CAPACITY(16, 8), MAX_MESSAGE(24, 4), HEADER_SIZE(28, 4),
        PRODUCER_POSITION(64, 8), CONSUMER_POSITION(128, 8),
        DATA_FUTEX(192, 4), DATA_WAITERS(196, 4), SPACE_FUTEX(256, 4), SPACE_WAITERS(260, 4),
        CONSUMER_PID(320, 4), PRODUCER_PIDS(324, 4 * MAX_PRODUCERS),
        CLAIM_AT(384, 8 * MAX_PRODUCERS), CLAIM_END(448, 8 * MAX_PRODUCERS),
        /** Record fields, relative to the record's start. */
        LENGTH(0, 4), TYPE(4, 4);

        final int offset;
        final int size;

        Field(int offset, int size) {
            this.offset = offset;
            this.size = size;
        }

        /** The field's name in the C header. */
        String cName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    static final int MAGIC_AT = Field.MAGIC.offset;
    static final int VERSION_AT = Field.VERSION.offset;
    static final int FLAGS_AT = Field.FLAGS.offset;
    static final int CAPACITY_AT = Field.CAPACITY.offset;
    static final int MAX_MESSAGE_AT = Field.MAX_MESSAGE.offset;
    static final int HEADER_SIZE_AT = Field.HEADER_SIZE.offset;
    static final int PRODUCER_POSITION_AT = Field.PRODUCER_POSITION.offset;
    static final int CONSUMER_POSITION_AT = Field.CONSUMER_POSITION.offset;
    static final int DATA_FUTEX_AT = Field.DATA_FUTEX.offset;
    static final int DATA_WAITERS_AT = Field.DATA_WAITERS.offset;
    static final int SPACE_FUTEX_AT = Field.SPACE_FUTEX.offset;
    static final int SPACE_WAITERS_AT = Field.SPACE_WAITERS.offset;
    static final int CONSUMER_PID_AT = Field.CONSUMER_PID.offset;
    static final int PRODUCER_PIDS_AT = Field.PRODUCER_PIDS.offset;
    static final int CLAIM_AT_AT = Field.CLAIM_AT.offset;
    static final int CLAIM_END_AT = Field.CLAIM_END.offset;
    static final int LENGTH_AT = Field.LENGTH.offset;
    static final int TYPE_AT = Field.TYPE.offset;

    private RingLayout() {
    }

    /** Bytes a record of {@code length} payload bytes occupies: align8(8 + length). */
    static long recordSize(long length) {
        return (length + RECORD_HEADER + ALIGNMENT - 1) & -ALIGNMENT;
    }

    /** The largest maximum message a ring of {@code capacity} bytes accepts. */
    static int maxMessageLimit(int capacity) {
        return capacity / 2 - RECORD_HEADER;
    }
}
