package io.sluice.bench.load;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Message sizes and their weights, e.g. {@code 1KiB:70,16KiB:25,256KiB:5}. Immutable; any thread.
 * {@link #pick(long)} maps a uniformly random long to a size index without allocating.
 */
public final class SizeDistribution {

    private final int[] sizesBytes;
    private final long[] cumulativeWeights;

    private SizeDistribution(int[] sizesBytes, long[] weights) {
        this.sizesBytes = sizesBytes;
        this.cumulativeWeights = new long[weights.length];
        long sum = 0;
        for (int i = 0; i < weights.length; i++) {
            sum += weights[i];
            cumulativeWeights[i] = sum;
        }
    }

    /** Every message has {@code sizeBytes}. */
    public static SizeDistribution fixed(int sizeBytes) {
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("size=" + sizeBytes + " < 0");
        }
        return new SizeDistribution(new int[] {sizeBytes}, new long[] {1});
    }

    /** Parses {@code SIZE:WEIGHT[,SIZE:WEIGHT...]}; a missing weight counts 1. */
    public static SizeDistribution parse(String text) {
        List<int[]> entries = new ArrayList<>();
        for (String part : text.split(",")) {
            String item = part.trim();
            if (item.isEmpty()) {
                throw new IllegalArgumentException("size-dist=" + text + ": empty entry");
            }
            int colon = item.indexOf(':');
            int size = OptionValues.parseSizeBytes(colon < 0 ? item : item.substring(0, colon));
            int weight;
            try {
                weight = colon < 0 ? 1 : Integer.parseInt(item.substring(colon + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("size-dist=" + text + ": weight of '" + item + "' is not a number", e);
            }
            if (weight <= 0) {
                throw new IllegalArgumentException("size-dist=" + text + ": weight=" + weight + " <= 0");
            }
            entries.add(new int[] {size, weight});
        }
        int[] sizes = new int[entries.size()];
        long[] weights = new long[entries.size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = entries.get(i)[0];
            weights[i] = entries.get(i)[1];
        }
        return new SizeDistribution(sizes, weights);
    }

    /** Number of distinct sizes. */
    public int count() {
        return sizesBytes.length;
    }

    public int sizeBytes(int index) {
        return sizesBytes[index];
    }

    /** The share of {@code index} in [0, 1]. */
    public double share(int index) {
        long previous = index == 0 ? 0 : cumulativeWeights[index - 1];
        return (double) (cumulativeWeights[index] - previous) / totalWeight();
    }

    /** The size index for a uniformly random {@code random}; allocation-free. */
    public int pick(long random) {
        if (sizesBytes.length == 1) {
            return 0;
        }
        long point = Long.remainderUnsigned(random, totalWeight());
        for (int i = 0; i < cumulativeWeights.length; i++) {
            if (point < cumulativeWeights[i]) {
                return i;
            }
        }
        return cumulativeWeights.length - 1;
    }

    private long totalWeight() {
        return cumulativeWeights[cumulativeWeights.length - 1];
    }

    /** Mean message size in bytes, by weight. */
    public double meanBytes() {
        double mean = 0;
        for (int i = 0; i < sizesBytes.length; i++) {
            mean += sizesBytes[i] * share(i);
        }
        return mean;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < sizesBytes.length; i++) {
            long previous = i == 0 ? 0 : cumulativeWeights[i - 1];
            text.append(i == 0 ? "" : ",").append(sizesBytes[i]).append(':').append(cumulativeWeights[i] - previous);
        }
        return text.toString();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SizeDistribution that && Arrays.equals(sizesBytes, that.sizesBytes)
                && Arrays.equals(cumulativeWeights, that.cumulativeWeights);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(sizesBytes) + Arrays.hashCode(cumulativeWeights);
    }
}
