// Flame graph model: the API's flamebearer decoded into a struct-of-arrays call tree.
//
// Nodes are numbered depth-first (pre-order), so the subtree of node `i` is the contiguous index
// range [i, end[i]) and every parent comes before its children. Node 0 is the root ("total").
// Plain TypeScript, no DOM and no Svelte: the unit tests run it under node (web/test/).
import { noteFrameSources, type FrameSources } from './frames';

/** Pyroscope's flamebearer, as `/api/v1/flamegraph` and `/api/v1/diff` send it. */
export interface Flamebearer {
	names: string[];
	/** Per depth, a flat list of quadruples `[xOffsetDelta, total, self, nameIndex]` (single) or
	 *  septuples `[lOffsetDelta, lTotal, lSelf, rOffsetDelta, rTotal, rSelf, nameIndex]` (double). */
	levels: number[][];
	numTicks: number;
	maxSelf: number;
	/** Some servers put the diff totals here rather than beside `flamebearer`. */
	leftTicks?: number;
	rightTicks?: number;
}

export interface FlamebearerMetadata {
	units?: string;
	format?: 'single' | 'double';
	name?: string;
	sampleRate?: number;
	spyName?: string;
	/** Kiln: where each frame comes from, parallel to `flamebearer.names`. */
	frames?: FrameSources;
}

export interface FlamebearerProfile {
	flamebearer: Flamebearer;
	metadata?: FlamebearerMetadata;
	leftTicks?: number;
	rightTicks?: number;
}

export type FlameFormat = 'single' | 'double';

export interface FlameTree {
	readonly format: FlameFormat;
	readonly names: readonly string[];
	/** Number of nodes. */
	readonly count: number;
	/** Number of depths (rows); the root is depth 0. */
	readonly depthCount: number;
	readonly parent: Int32Array;
	readonly depth: Int32Array;
	readonly name: Int32Array;
	/** Subtree end (exclusive) in depth-first numbering. */
	readonly end: Int32Array;
	/** Inclusive and exclusive value. For `double` trees: left + right. */
	readonly total: Float64Array;
	readonly self: Float64Array;
	/** `double` only (empty arrays for `single`). */
	readonly leftTotal: Float64Array;
	readonly leftSelf: Float64Array;
	readonly rightTotal: Float64Array;
	readonly rightSelf: Float64Array;
	/** Root total; for `double`, left + right. */
	readonly numTicks: number;
	readonly leftTicks: number;
	readonly rightTicks: number;
	readonly units: string;
}

const EMPTY = new Float64Array(0);

/** A flamebearer is malformed: the server and this UI disagree on the format. */
export class FlamebearerError extends Error {
	override name = 'FlamebearerError';
}

/**
 * Decodes a flamebearer (`single` or `double`, taken from `metadata.format`, else guessed from
 * the level stride) into a {@link FlameTree}. If the first level holds several nodes a synthetic
 * root named "total" is added above them.
 */
export function decodeFlamebearer(profile: FlamebearerProfile): FlameTree {
	const fb = profile.flamebearer;
	if (fb === null || typeof fb !== 'object' || !Array.isArray(fb.names) || !Array.isArray(fb.levels)) {
		throw new FlamebearerError('flamebearer: expected { names: [], levels: [[]] }');
	}
	noteFrameSources(fb.names, profile.metadata?.frames);
	let format: FlameFormat | undefined = profile.metadata?.format;
	if (format !== 'single' && format !== 'double') {
		const first = fb.levels[0]?.length ?? 0;
		format = first % 7 === 0 && first % 4 !== 0 ? 'double' : 'single';
		if (profile.leftTicks !== undefined || fb.leftTicks !== undefined) format = 'double';
	}
	const stride = format === 'double' ? 7 : 4;
	const levels = fb.levels;
	let n = 0;
	for (let d = 0; d < levels.length; d++) {
		const level = levels[d]!;
		if (level.length % stride !== 0) {
			throw new FlamebearerError(`flamebearer level ${d}: length ${level.length} is not a multiple of ${stride}`);
		}
		n += level.length / stride;
	}
	const rootCount = (levels[0]?.length ?? 0) / stride;
	const synthetic = rootCount !== 1;
	const names = synthetic ? [...fb.names, 'total'] : fb.names;
	const count = n + (synthetic ? 1 : 0);

	// Pass 1: absolute x (in combined ticks) and values, in level order.
	const lx = new Float64Array(count);
	const lw = new Float64Array(count);
	const lDepth = new Int32Array(count);
	const lName = new Int32Array(count);
	const lTotal = new Float64Array(count);
	const lSelf = new Float64Array(count);
	const lLeftT = format === 'double' ? new Float64Array(count) : EMPTY;
	const lLeftS = format === 'double' ? new Float64Array(count) : EMPTY;
	const lRightT = format === 'double' ? new Float64Array(count) : EMPTY;
	const lRightS = format === 'double' ? new Float64Array(count) : EMPTY;
	const levelStart = new Int32Array(levels.length + 2);
	const shift = synthetic ? 1 : 0;
	let k = shift;
	if (synthetic) {
		lName[0] = names.length - 1;
		levelStart[0] = 0;
	}
	// Separate loops per format: one monomorphic hot loop each (this runs once per node).
	for (let d = 0; d < levels.length; d++) {
		const level = levels[d]!;
		levelStart[d + shift] = k;
		let xl = 0;
		let xr = 0;
		const len = level.length;
		if (format === 'double') {
			for (let j = 0; j < len; j += 7) {
				const lt = level[j + 1]!;
				const rt = level[j + 4]!;
				xl += level[j]!;
				xr += level[j + 3]!;
				lx[k] = xl + xr;
				lw[k] = lt + rt;
				lLeftT[k] = lt;
				lLeftS[k] = level[j + 2]!;
				lRightT[k] = rt;
				lRightS[k] = level[j + 5]!;
				lTotal[k] = lt + rt;
				lSelf[k] = level[j + 2]! + level[j + 5]!;
				lName[k] = level[j + 6]!;
				lDepth[k] = d + shift;
				xl += lt;
				xr += rt;
				k++;
			}
		} else {
			for (let j = 0; j < len; j += 4) {
				const t = level[j + 1]!;
				xl += level[j]!;
				lx[k] = xl;
				lw[k] = t;
				lTotal[k] = t;
				lSelf[k] = level[j + 2]!;
				lName[k] = level[j + 3]!;
				lDepth[k] = d + shift;
				xl += t;
				k++;
			}
		}
	}
	const nameCount = fb.names.length;
	for (let i = shift; i < count; i++) {
		const nameIndex = lName[i]!;
		if (!(nameIndex >= 0 && nameIndex < nameCount)) {
			throw new FlamebearerError(`flamebearer level ${lDepth[i]! - shift}: name index ${nameIndex} out of range`);
		}
	}
	const depthCount = levels.length + shift;
	levelStart[depthCount] = count;
	if (synthetic) {
		// The synthetic root spans all first-level nodes.
		let t = 0;
		for (let i = 1; i < count && lDepth[i] === 1; i++) {
			t += lw[i]!;
			if (format === 'double') {
				lLeftT[0]! += lLeftT[i]!;
				lRightT[0]! += lRightT[i]!;
			}
		}
		lw[0] = t;
		lTotal[0] = t;
		lDepth[0] = 0;
	}

	// Pass 2: parents. Both a level and the next are sorted by x: walk them together.
	const lParent = new Int32Array(count).fill(-1);
	const childCount = new Int32Array(count);
	for (let d = 1; d < depthCount; d++) {
		let p = levelStart[d - 1]!;
		const pEnd = levelStart[d]!;
		const cEnd = levelStart[d + 1]!;
		for (let c = levelStart[d]!; c < cEnd; c++) {
			const x = lx[c]!;
			while (p < pEnd - 1 && x >= lx[p]! + lw[p]!) p++;
			if (p >= pEnd) throw new FlamebearerError(`flamebearer level ${d}: node without parent`);
			lParent[c] = p;
			childCount[p]!++;
		}
	}

	// Pass 3: depth-first renumbering (children keep their x order).
	const childStart = new Int32Array(count + 1);
	for (let i = 0; i < count; i++) childStart[i + 1] = childStart[i]! + childCount[i]!;
	const fill = childStart.slice(0, count);
	const children = new Int32Array(Math.max(0, count - 1));
	for (let i = 0; i < count; i++) {
		const p = lParent[i]!;
		if (p >= 0) children[fill[p]!++] = i;
	}
	const order = new Int32Array(count); // new index → level index
	const newIndex = new Int32Array(count);
	const stack = new Int32Array(count);
	let sp = 0;
	let next = 0;
	if (count > 0) stack[sp++] = 0;
	while (sp > 0) {
		const li = stack[--sp]!;
		newIndex[li] = next;
		order[next++] = li;
		// Push children in reverse so the leftmost is visited first.
		for (let c = childStart[li + 1]! - 1; c >= childStart[li]!; c--) stack[sp++] = children[c]!;
	}

	const b = allocate(count, format);
	for (let i = 0; i < count; i++) {
		const li = order[i]!;
		const lp = lParent[li]!;
		b.parent[i] = lp < 0 ? -1 : newIndex[lp]!;
		b.depth[i] = lDepth[li]!;
		b.name[i] = lName[li]!;
		b.total[i] = lTotal[li]!;
		b.self[i] = lSelf[li]!;
	}
	if (format === 'double') {
		for (let i = 0; i < count; i++) {
			const li = order[i]!;
			b.leftTotal[i] = lLeftT[li]!;
			b.leftSelf[i] = lLeftS[li]!;
			b.rightTotal[i] = lRightT[li]!;
			b.rightSelf[i] = lRightS[li]!;
		}
	}
	computeEnds(b.parent, b.end);

	const rootTotal = count > 0 ? b.total[0]! : 0;
	let leftTicks = 0;
	let rightTicks = 0;
	if (format === 'double') {
		leftTicks = profile.leftTicks ?? fb.leftTicks ?? (count > 0 ? b.leftTotal[0]! : 0);
		rightTicks = profile.rightTicks ?? fb.rightTicks ?? (count > 0 ? b.rightTotal[0]! : 0);
	}
	return {
		format,
		names,
		count,
		depthCount,
		...b,
		numTicks: rootTotal,
		leftTicks,
		rightTicks,
		units: profile.metadata?.units ?? 'samples'
	};
}

interface Columns {
	parent: Int32Array;
	depth: Int32Array;
	name: Int32Array;
	end: Int32Array;
	total: Float64Array;
	self: Float64Array;
	leftTotal: Float64Array;
	leftSelf: Float64Array;
	rightTotal: Float64Array;
	rightSelf: Float64Array;
}

function allocate(count: number, format: FlameFormat): Columns {
	const dbl = format === 'double';
	return {
		parent: new Int32Array(count),
		depth: new Int32Array(count),
		name: new Int32Array(count),
		end: new Int32Array(count),
		total: new Float64Array(count),
		self: new Float64Array(count),
		leftTotal: dbl ? new Float64Array(count) : EMPTY,
		leftSelf: dbl ? new Float64Array(count) : EMPTY,
		rightTotal: dbl ? new Float64Array(count) : EMPTY,
		rightSelf: dbl ? new Float64Array(count) : EMPTY
	};
}

/** Subtree ends from parents of a pre-order numbering. */
function computeEnds(parent: Int32Array, end: Int32Array): void {
	const n = parent.length;
	for (let i = 0; i < n; i++) end[i] = i + 1;
	// Children come after parents: walking backwards, each node pushes its end up to its parent.
	for (let i = n - 1; i > 0; i--) {
		const p = parent[i]!;
		if (end[i]! > end[p]!) end[p] = end[i]!;
	}
}

/** Path of name strings from the root's child down to `node` (the root itself excluded). */
export function pathOf(tree: FlameTree, node: number): string[] {
	const path: string[] = [];
	for (let i = node; i > 0; i = tree.parent[i]!) path.push(tree.names[tree.name[i]!]!);
	return path.reverse();
}

/** The node reached by following `path` (names) from the root, or the deepest prefix found. */
export function nodeAtPath(tree: FlameTree, path: readonly string[]): number {
	let node = 0;
	for (const step of path) {
		let found = -1;
		for (let c = node + 1; c < tree.end[node]!; c = tree.end[c]!) {
			if (tree.names[tree.name[c]!] === step) {
				found = c;
				break;
			}
		}
		if (found < 0) break;
		node = found;
	}
	return node;
}

/** Ancestors of `node` from the root down, `node` included. */
export function ancestry(tree: FlameTree, node: number): number[] {
	const out: number[] = [];
	for (let i = node; i >= 0; i = tree.parent[i]!) out.push(i);
	return out.reverse();
}

/**
 * Builds trees by merging paths (sandwich views, tests, synthetic data). Children of a node are
 * merged by name; `finish` numbers the nodes depth-first with children sorted by name.
 */
export class TreeBuilder {
	readonly #format: FlameFormat;
	readonly #names: string[];
	readonly #nameIndex = new Map<string, number>();
	#parent: number[] = [-1];
	#name: number[] = [0];
	#total: number[] = [0];
	#self: number[] = [0];
	#lt: number[] = [0];
	#ls: number[] = [0];
	#rt: number[] = [0];
	#rs: number[] = [0];
	readonly #child = new Map<number, number>();

	constructor(format: FlameFormat = 'single', rootName = 'total', names?: readonly string[]) {
		this.#format = format;
		this.#names = names ? [...names] : [];
		this.#names.forEach((n, i) => this.#nameIndex.set(n, i));
		this.#name[0] = this.intern(rootName);
	}

	intern(name: string): number {
		let i = this.#nameIndex.get(name);
		if (i === undefined) {
			i = this.#names.length;
			this.#names.push(name);
			this.#nameIndex.set(name, i);
		}
		return i;
	}

	/** The child of `parent` named `name` (a name index), created if missing. */
	child(parent: number, name: number): number {
		const key = parent * 4_294_967_296 + name;
		let c = this.#child.get(key);
		if (c === undefined) {
			c = this.#parent.length;
			this.#parent.push(parent);
			this.#name.push(name);
			this.#total.push(0);
			this.#self.push(0);
			this.#lt.push(0);
			this.#ls.push(0);
			this.#rt.push(0);
			this.#rs.push(0);
			this.#child.set(key, c);
		}
		return c;
	}

	/** Adds `left`/`right` (for single trees: `left` only) to `node`'s totals, and to its self if `self`. */
	add(node: number, left: number, right = 0, self = false): void {
		this.#total[node]! += left + right;
		this.#lt[node]! += left;
		this.#rt[node]! += right;
		if (self) {
			this.#self[node]! += left + right;
			this.#ls[node]! += left;
			this.#rs[node]! += right;
		}
	}

	/** Adds one stack (root-most first, names) with a value to every node on it. */
	addStack(stack: readonly string[], left: number, right = 0): void {
		let node = 0;
		this.add(0, left, right);
		for (const frame of stack) {
			node = this.child(node, this.intern(frame));
			this.add(node, left, right);
		}
		this.#self[node]! += left + right;
		this.#ls[node]! += left;
		this.#rs[node]! += right;
	}

	finish(units = 'samples', ticks?: { left: number; right: number }): FlameTree {
		const count = this.#parent.length;
		const childCount = new Int32Array(count);
		for (let i = 1; i < count; i++) childCount[this.#parent[i]!]!++;
		const childStart = new Int32Array(count + 1);
		for (let i = 0; i < count; i++) childStart[i + 1] = childStart[i]! + childCount[i]!;
		const fill = childStart.slice(0, count);
		const children = new Int32Array(Math.max(0, count - 1));
		for (let i = 1; i < count; i++) children[fill[this.#parent[i]!]!++] = i;
		const names = this.#names;
		for (let i = 0; i < count; i++) {
			const seg = children.subarray(childStart[i]!, childStart[i + 1]!);
			if (seg.length > 1) seg.sort((a, b) => compareStrings(names[this.#name[a]!]!, names[this.#name[b]!]!));
		}
		const order = new Int32Array(count);
		const newIndex = new Int32Array(count);
		const stack = new Int32Array(count);
		const depthOf = new Int32Array(count);
		let sp = 0;
		let next = 0;
		stack[sp++] = 0;
		let depthCount = 1;
		while (sp > 0) {
			const li = stack[--sp]!;
			newIndex[li] = next;
			order[next++] = li;
			for (let c = childStart[li + 1]! - 1; c >= childStart[li]!; c--) {
				const ch = children[c]!;
				depthOf[ch] = depthOf[li]! + 1;
				if (depthOf[ch]! + 1 > depthCount) depthCount = depthOf[ch]! + 1;
				stack[sp++] = ch;
			}
		}
		const format = this.#format;
		const b = allocate(count, format);
		for (let i = 0; i < count; i++) {
			const li = order[i]!;
			const lp = this.#parent[li]!;
			b.parent[i] = lp < 0 ? -1 : newIndex[lp]!;
			b.depth[i] = depthOf[li]!;
			b.name[i] = this.#name[li]!;
			b.total[i] = this.#total[li]!;
			b.self[i] = this.#self[li]!;
			if (format === 'double') {
				b.leftTotal[i] = this.#lt[li]!;
				b.leftSelf[i] = this.#ls[li]!;
				b.rightTotal[i] = this.#rt[li]!;
				b.rightSelf[i] = this.#rs[li]!;
			}
		}
		computeEnds(b.parent, b.end);
		return {
			format,
			names: [...names],
			count,
			depthCount,
			...b,
			numTicks: b.total[0] ?? 0,
			leftTicks: format === 'double' ? (ticks?.left ?? b.leftTotal[0] ?? 0) : 0,
			rightTicks: format === 'double' ? (ticks?.right ?? b.rightTotal[0] ?? 0) : 0,
			units
		};
	}
}

function compareStrings(a: string, b: string): number {
	return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Encodes a tree back into a flamebearer (children packed left, self at the right end of each
 * parent, offsets delta-encoded per level). Used by tests and the benchmark to make inputs.
 */
export function encodeFlamebearer(tree: FlameTree): FlamebearerProfile {
	const dbl = tree.format === 'double';
	const levels: number[][] = Array.from({ length: tree.depthCount }, () => []);
	// x per node on each side: a child starts where its previous sibling ended.
	const xl = new Float64Array(tree.count);
	const xr = new Float64Array(tree.count);
	const cursorL = new Float64Array(tree.count);
	const cursorR = new Float64Array(tree.count);
	const lastEndL = new Float64Array(tree.depthCount);
	const lastEndR = new Float64Array(tree.depthCount);
	for (let i = 0; i < tree.count; i++) {
		const p = tree.parent[i]!;
		const lt = dbl ? tree.leftTotal[i]! : tree.total[i]!;
		const rt = dbl ? tree.rightTotal[i]! : 0;
		if (p >= 0) {
			xl[i] = cursorL[p]!;
			xr[i] = cursorR[p]!;
			cursorL[p]! += lt;
			cursorR[p]! += rt;
		}
		cursorL[i] = xl[i]!;
		cursorR[i] = xr[i]!;
		const d = tree.depth[i]!;
		const level = levels[d]!;
		if (dbl) {
			level.push(xl[i]! - lastEndL[d]!, lt, tree.leftSelf[i]!, xr[i]! - lastEndR[d]!, rt, tree.rightSelf[i]!, tree.name[i]!);
		} else {
			level.push(xl[i]! - lastEndL[d]!, lt, tree.self[i]!, tree.name[i]!);
		}
		lastEndL[d] = xl[i]! + lt;
		lastEndR[d] = xr[i]! + rt;
	}
	let maxSelf = 0;
	for (let i = 0; i < tree.count; i++) if (tree.self[i]! > maxSelf) maxSelf = tree.self[i]!;
	const profile: FlamebearerProfile = {
		flamebearer: { names: [...tree.names], levels, numTicks: tree.numTicks, maxSelf },
		metadata: { units: tree.units, format: tree.format, name: 'cpu' }
	};
	if (dbl) {
		profile.leftTicks = tree.leftTicks;
		profile.rightTicks = tree.rightTicks;
	}
	return profile;
}
