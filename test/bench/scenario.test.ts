import { describe, expect, it } from 'vitest';
import { pairedOrder, rotate } from '../../bench/lib/scenario.js';

describe('pairedOrder', () => {
  const pairs = [
    ['s50', 'b50'],
    ['s500', 'b500'],
    ['s50e', 'b50e'],
  ];

  it('keeps each pair side by side, rotates the pairs and swaps who goes first every round', () => {
    expect(pairedOrder(pairs, 0)).toEqual(['s50', 'b50', 'b500', 's500', 's50e', 'b50e']);
    expect(pairedOrder(pairs, 1)).toEqual(['s500', 'b500', 'b50e', 's50e', 'b50', 's50']);
    expect(pairedOrder(pairs, 2)).toEqual(['s50e', 'b50e', 's50', 'b50', 'b500', 's500']);
    expect(pairedOrder(pairs, 3)).toEqual(['b50', 's50', 's500', 'b500', 'b50e', 's50e']);
  });

  it('rotates a group of three through every place once in three rounds, next to a pair', () => {
    const groups = [
      ['s', 'f', 'b'],
      ['s2', 'b2'],
    ];
    const places = new Map<string, number[]>();
    for (let round = 0; round < 3; round++) {
      const order = pairedOrder(groups, round);
      const start = order.indexOf(order.find((x) => ['s', 'f', 'b'].includes(x))!);
      expect(order.slice(start, start + 3).sort()).toEqual(['b', 'f', 's']); // side by side
      for (const x of ['s', 'f', 'b']) places.set(x, [...(places.get(x) ?? []), order.indexOf(x) - start]);
    }
    expect(Object.fromEntries(places)).toEqual({ s: [0, 2, 1], f: [1, 0, 2], b: [2, 1, 0] });
  });

  it('puts each member first in as many rounds as second over an even number of rounds', () => {
    const firsts = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      const order = pairedOrder(pairs, round);
      for (let i = 0; i < order.length; i += 2) firsts.set(order[i]!, (firsts.get(order[i]!) ?? 0) + 1);
    }
    expect(Object.fromEntries(firsts)).toEqual({ s50: 3, b50: 3, s500: 3, b500: 3, s50e: 3, b50e: 3 });
  });

  it('runs every contender exactly once a round, as rotate does', () => {
    for (let round = 0; round < 4; round++) {
      expect([...pairedOrder(pairs, round)].sort()).toEqual([...rotate(pairs.flat(), round)].sort());
    }
  });
});
