//! A small reader for the pickles the job stores hold (protocols 2 to 5).
//!
//! It runs the pickle machine without creating any Python object: the result is a tree of
//! nodes in an arena, shared sub-trees (memo references) being the same node, read as
//! [`Value`]s. A [`Reader`] keeps its buffers from one pickle to the next. Calls
//! (`REDUCE`, `NEWOBJ`, `BUILD`) are kept as descriptions, so the caller decides which shapes
//! it understands; anything this reader does not know (other opcodes, malformed input) is an
//! error, and the caller then falls back to Python's own `pickle`.

/// Index of a node.
pub type Id = u32;

/// Children of a container node: a range of the reader's child list (a dict's are key, value,
/// key, value, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    start: u32,
    len: u32,
}

/// One node. Strings and bytes borrow from the pickle's bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Tuple(Span),
    List(Span),
    Dict(Span),
    /// `module`, `name` of a global (class or function).
    Global(&'a str, &'a str),
    /// `callable(*args)` (`REDUCE`).
    Call(Id, Id),
    /// `cls.__new__(cls, *args)` (`NEWOBJ`).
    New(Id, Id),
    /// An object (`New`) with its `__setstate__` states applied in order (`BUILD`).
    Built(Id, Span),
}

/// A node as stored: strings and bytes are ranges of the input (strings checked when read).
#[derive(Debug, Clone, Copy)]
enum Node {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(u32, u32),
    Bytes(u32, u32),
    Tuple(Span),
    List(Span),
    Dict(Span),
    /// The two `Str` nodes of module and name.
    Global(Id, Id),
    Call(Id, Id),
    New(Id, Id),
    Built(Id, Span),
}

/// The pickle machine's buffers, reused from one pickle to the next.
///
/// It also keeps the *shape* of the last pickle it read: its opcodes, with the node each value
/// opcode made and where that value is in the bytes. A store's rows mostly share one shape
/// (same classes, same keys; other ids, dates and numbers), and a pickle of the same shape
/// gives the same tree with other values in its leaves. So [`Reader::parse`] first compares
/// the new bytes with the last ones and re-reads only the values that differ (when both have
/// the same length), else replays the opcodes and rewrites every leaf; it runs the machine
/// only for a new shape. Either way it tells which leaves changed ([`Pickle::changed`]).
#[derive(Debug, Default)]
pub struct Reader {
    nodes: Vec<Node>,
    kids: Vec<Id>,
    stack: Vec<Id>,
    /// Stack heights at each open `MARK` (Python's metastack).
    marks: Vec<usize>,
    memo: Vec<Option<Id>>,
    shape: Vec<Step>,
    /// Where the last pickle's values are, in order.
    leaves: Vec<Leaf>,
    /// The root of the last pickle read, `None` when the last read failed (no shape).
    root: Option<Id>,
    /// The last pickle read.
    last: Vec<u8>,
    /// Leaves whose value the last read changed, `None` when it ran the machine.
    changed: Option<Vec<Id>>,
    /// [`Reader::patch`]'s new leaves, applied once the whole pickle is known to match.
    patched: Vec<(Id, Node)>,
}

/// One opcode of a shape and its argument: the memo index of a memo opcode, the (first) node
/// made by a value opcode.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: u8,
    arg: u32,
}

/// A value opcode's argument bytes (`start..end`, after the opcode) and the node it made.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    start: u32,
    end: u32,
    node: Id,
}

/// Opcodes that make a leaf from their argument (`GLOBAL` makes two).
fn is_value_op(op: u8) -> bool {
    matches!(op, b'K' | b'M' | b'J' | 0x8a | b'G' | 0x8c | b'X' | 0x8d | b'C' | b'B' | 0x8e | b'c')
}

impl Reader {
    /// Reads one pickle.
    pub fn parse<'a>(&'a mut self, data: &'a [u8]) -> Result<Pickle<'a>, Unsupported> {
        if data.len() >= u32::MAX as usize {
            return Err(Unsupported("too large"));
        }
        let last_root = self.root;
        let root = match last_root {
            Some(root) if self.patch(data).is_ok() || self.replay(data).is_ok() => root,
            _ => {
                self.changed = None;
                self.run(data)?
            }
        };
        self.last.clear();
        self.last.extend_from_slice(data);
        Ok(Pickle { nodes: &self.nodes, kids: &self.kids, data, root, changed: self.changed.as_deref() })
    }

    /// Runs the pickle machine, recording the shape.
    fn run(&mut self, data: &[u8]) -> R<Id> {
        self.nodes.clear();
        self.kids.clear();
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        self.shape.clear();
        self.leaves.clear();
        self.root = None;
        let root = Machine { at: Cursor { data, pos: 0 }, r: self }.run()?;
        self.root = Some(root);
        Ok(root)
    }

    /// Reads `data` as the last pickle with some values changed in place: the bytes that
    /// differ must all be inside values, and no value may change its length. Nothing changes
    /// unless it succeeds.
    fn patch(&mut self, data: &[u8]) -> R<()> {
        let other = Unsupported("other shape");
        let (old, leaves) = (&self.last[..], &self.leaves[..]);
        if data.len() != old.len() {
            return Err(other);
        }
        self.patched.clear();
        let (mut i, mut next_leaf) = (0, 0);
        while i < data.len() {
            if data.get(i..i + 16).is_some_and(|new| new == &old[i..i + 16]) {
                i += 16;
                continue;
            }
            if data[i] == old[i] {
                i += 1;
                continue;
            }
            while leaves.get(next_leaf).is_some_and(|l| l.end as usize <= i) {
                next_leaf += 1;
            }
            let leaf = leaves.get(next_leaf).filter(|l| l.start as usize <= i).ok_or(other)?;
            let mut at = Cursor { data, pos: leaf.start as usize - 1 };
            let op = at.u8()?;
            let node = read_value(op, &mut at)?.ok_or(other)?;
            if at.pos != leaf.end as usize {
                return Err(other);
            }
            self.patched.push((leaf.node, node));
            i = at.pos;
            next_leaf += 1;
        }
        let changed = self.changed.get_or_insert_with(Vec::new);
        changed.clear();
        for (id, node) in self.patched.drain(..) {
            *self.nodes.get_mut(id as usize).ok_or(other)? = node;
            changed.push(id);
        }
        Ok(())
    }

    /// Reads `data` as a pickle of the last shape, rewriting the leaves of the last tree.
    /// `Err`: another shape (the tree may then hold a mix of both; the caller runs the machine).
    fn replay(&mut self, data: &[u8]) -> R<()> {
        let mut at = Cursor { data, pos: 0 };
        let other = Unsupported("other shape");
        let changed = self.changed.get_or_insert_with(Vec::new);
        changed.clear();
        self.leaves.clear();
        let last = &self.last;
        // Puts `leaf` in place of node `id`, noting a change of value.
        let mut put = |nodes: &mut [Node], id: usize, leaf: Node| -> R<()> {
            let old = nodes.get_mut(id).ok_or(other)?;
            let same = match (*old, leaf) {
                (Node::Str(o, n), Node::Str(o2, n2)) | (Node::Bytes(o, n), Node::Bytes(o2, n2)) => {
                    last.get(o as usize..(o + n) as usize) == data.get(o2 as usize..(o2 + n2) as usize)
                }
                (Node::Int(a), Node::Int(b)) => a == b,
                (Node::Float(a), Node::Float(b)) => a.to_bits() == b.to_bits(),
                _ => false,
            };
            if !same {
                changed.push(id as Id);
            }
            *old = leaf;
            Ok(())
        };
        for step in &self.shape {
            if at.u8()? != step.op {
                return Err(other);
            }
            let start = at.pos as u32;
            match step.op {
                0x80 => {
                    if !(2..=5).contains(&at.u8()?) {
                        return Err(Unsupported("protocol"));
                    }
                }
                0x95 => {
                    at.take(8)?;
                }
                b'q' | b'h' => {
                    if u32::from(at.u8()?) != step.arg {
                        return Err(other);
                    }
                }
                b'r' | b'j' => {
                    if at.u32()? != step.arg {
                        return Err(other);
                    }
                }
                b'c' => {
                    let module = at.line()?;
                    put(&mut self.nodes, step.arg as usize, module)?;
                    let name = at.line()?;
                    put(&mut self.nodes, step.arg as usize + 1, name)?;
                }
                op => {
                    // Other opcodes are structure only: the same opcodes build the same tree.
                    if let Some(leaf) = read_value(op, &mut at)? {
                        put(&mut self.nodes, step.arg as usize, leaf)?;
                    }
                }
            }
            if is_value_op(step.op) {
                self.leaves.push(Leaf { start, end: at.pos as u32, node: step.arg });
            }
        }
        if at.pos != data.len() {
            return Err(Unsupported("trailing data"));
        }
        Ok(())
    }
}

/// The leaf a value opcode (other than `GLOBAL`) makes from its argument; `None` for any
/// other opcode (nothing read).
fn read_value(op: u8, at: &mut Cursor) -> R<Option<Node>> {
    Ok(Some(match op {
        b'K' => Node::Int(at.u8()?.into()),
        b'M' => Node::Int(at.u16()?.into()),
        b'J' => Node::Int((at.u32()? as i32).into()),
        0x8a => {
            let n = at.u8()? as usize;
            Node::Int(long(at.take(n)?)?)
        }
        b'G' => Node::Float(f64::from_be_bytes(at.take(8)?.try_into().unwrap_or_default())),
        0x8c => {
            let n = at.u8()? as usize;
            at.str(n)?
        }
        b'X' => {
            let n = at.u32()? as usize;
            at.str(n)?
        }
        0x8d => {
            let n = usize::try_from(at.u64()?).map_err(|_| Unsupported("size"))?;
            at.str(n)?
        }
        b'C' => {
            let n = at.u8()? as usize;
            at.bytes(n)?
        }
        b'B' => {
            let n = at.u32()? as usize;
            at.bytes(n)?
        }
        0x8e => {
            let n = usize::try_from(at.u64()?).map_err(|_| Unsupported("size"))?;
            at.bytes(n)?
        }
        _ => return Ok(None),
    }))
}

/// Reading position in a pickle's bytes.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len()).ok_or(Unsupported("truncated"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> R<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap_or_default()))
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default()))
    }
    /// A `Str` node for the next `n` bytes (checked to be UTF-8).
    fn str(&mut self, n: usize) -> R<Node> {
        let off = self.pos as u32;
        let b = self.take(n)?;
        if !b.is_ascii() {
            std::str::from_utf8(b).map_err(|_| Unsupported("bad utf-8"))?;
        }
        Ok(Node::Str(off, n as u32))
    }
    fn bytes(&mut self, n: usize) -> R<Node> {
        let off = self.pos as u32;
        self.take(n)?;
        Ok(Node::Bytes(off, n as u32))
    }
    /// A `Str` node for the next text line.
    fn line(&mut self) -> R<Node> {
        let rest = &self.data[self.pos..];
        let n = rest.iter().position(|b| *b == b'\n').ok_or(Unsupported("unterminated line"))?;
        std::str::from_utf8(&rest[..n]).map_err(|_| Unsupported("non-utf8 line"))?;
        let off = self.pos as u32;
        self.pos += n + 1;
        Ok(Node::Str(off, n as u32))
    }
}

/// A little-endian two's complement integer of at most 8 bytes (`LONG1`).
fn long(b: &[u8]) -> R<i64> {
    if b.len() > 8 {
        return Err(Unsupported("long integer"));
    }
    let mut buf = if b.last().is_some_and(|x| x & 0x80 != 0) { [0xffu8; 8] } else { [0u8; 8] };
    buf[..b.len()].copy_from_slice(b);
    Ok(i64::from_le_bytes(buf))
}

/// A pickle read by a [`Reader`].
#[derive(Debug)]
pub struct Pickle<'a> {
    nodes: &'a [Node],
    kids: &'a [Id],
    data: &'a [u8],
    pub root: Id,
    /// When this pickle has the shape of the one the reader read before: the leaves whose
    /// value differs from that one's (every other node holds what it held then).
    pub changed: Option<&'a [Id]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

type R<T> = Result<T, Unsupported>;

impl<'a> Pickle<'a> {
    #[inline]
    fn text(&self, id: Id) -> &'a str {
        match self.nodes[id as usize] {
            Node::Str(off, len) => {
                let bytes = &self.data[off as usize..(off + len) as usize];
                // SAFETY: checked to be UTF-8 when the node was made (`Machine::str`).
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            _ => "",
        }
    }

    #[inline]
    pub fn get(&self, id: Id) -> Value<'a> {
        match self.nodes[id as usize] {
            Node::None => Value::None,
            Node::Bool(b) => Value::Bool(b),
            Node::Int(v) => Value::Int(v),
            Node::Float(v) => Value::Float(v),
            Node::Str(..) => Value::Str(self.text(id)),
            Node::Bytes(off, len) => Value::Bytes(&self.data[off as usize..(off + len) as usize]),
            Node::Tuple(s) => Value::Tuple(s),
            Node::List(s) => Value::List(s),
            Node::Dict(s) => Value::Dict(s),
            Node::Global(m, n) => Value::Global(self.text(m), self.text(n)),
            Node::Call(f, a) => Value::Call(f, a),
            Node::New(c, a) => Value::New(c, a),
            Node::Built(o, s) => Value::Built(o, s),
        }
    }

    /// The children of a container node.
    #[inline]
    pub fn items(&self, span: Span) -> &[Id] {
        &self.kids[span.start as usize..(span.start + span.len) as usize]
    }

    /// The string in node `id`, if it is one.
    #[inline]
    pub fn str(&self, id: Id) -> Option<&'a str> {
        matches!(self.nodes[id as usize], Node::Str(..)).then(|| self.text(id))
    }

    /// Value of `key` in the dict node `dict` (string keys; the last one wins, as in Python).
    pub fn dict_get(&self, dict: Id, key: &str) -> Option<Id> {
        match self.get(dict) {
            Value::Dict(span) => {
                self.items(span).chunks_exact(2).rev().find(|kv| self.str(kv[0]) == Some(key)).map(|kv| kv[1])
            }
            _ => None,
        }
    }

    /// Values of `keys` in the dict node `dict`, in one pass (string keys; the last one wins,
    /// as in Python); `None` when `dict` is not a dict.
    pub fn dict_fields<const N: usize>(&self, dict: Id, keys: [&str; N]) -> Option<[Option<Id>; N]> {
        let Value::Dict(span) = self.get(dict) else { return None };
        let mut out = [None; N];
        for (n, kv) in self.items(span).chunks_exact(2).enumerate() {
            let Some(k) = self.str(kv[0]) else { continue };
            // States are written in one key order, so `keys` usually lists the n-th key n-th.
            let i = if keys.get(n) == Some(&k) { Some(n) } else { keys.iter().position(|key| *key == k) };
            if let Some(i) = i {
                out[i] = Some(kv[1]);
            }
        }
        Some(out)
    }

    /// Whether `id` is the global `module.name`.
    #[inline]
    pub fn is_global(&self, id: Id, module: &str, name: &str) -> bool {
        matches!(self.get(id), Value::Global(m, n) if m == module && n == name)
    }

    /// Every node reachable from `from` (itself included), sorted.
    pub fn reachable(&self, from: Id) -> Vec<Id> {
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = vec![from];
        while let Some(id) = todo.pop() {
            let Some(was) = seen.get_mut(id as usize) else { continue };
            if std::mem::replace(was, true) {
                continue;
            }
            match self.nodes[id as usize] {
                Node::Tuple(s) | Node::List(s) | Node::Dict(s) => todo.extend_from_slice(self.items(s)),
                Node::Global(a, b) | Node::Call(a, b) | Node::New(a, b) => todo.extend([a, b]),
                Node::Built(o, s) => {
                    todo.push(o);
                    todo.extend_from_slice(self.items(s));
                }
                _ => {}
            }
        }
        (0..self.nodes.len() as Id).filter(|id| seen[*id as usize]).collect()
    }

    /// Items of a tuple node.
    #[inline]
    pub fn tuple(&self, id: Id) -> Option<&[Id]> {
        match self.get(id) {
            Value::Tuple(span) => Some(self.items(span)),
            _ => None,
        }
    }
}

struct Machine<'a, 'r> {
    at: Cursor<'a>,
    r: &'r mut Reader,
}

impl<'a> Machine<'a, '_> {
    fn u8(&mut self) -> R<u8> {
        self.at.u8()
    }
    fn u16(&mut self) -> R<u16> {
        self.at.u16()
    }
    fn u32(&mut self) -> R<u32> {
        self.at.u32()
    }
    fn u64(&mut self) -> R<u64> {
        self.at.u64()
    }
    /// A `Str` node (not on the stack) for the next text line.
    fn line(&mut self) -> R<Id> {
        let node = self.at.line()?;
        self.r.nodes.push(node);
        Ok((self.r.nodes.len() - 1) as Id)
    }

    fn push(&mut self, v: Node) -> R<()> {
        if self.r.nodes.len() >= u32::MAX as usize {
            return Err(Unsupported("too large"));
        }
        self.r.nodes.push(v);
        self.r.stack.push((self.r.nodes.len() - 1) as Id);
        Ok(())
    }
    fn floor(&self) -> usize {
        self.r.marks.last().copied().unwrap_or(0)
    }
    fn pop(&mut self) -> R<Id> {
        if self.r.stack.len() <= self.floor() {
            return Err(Unsupported("stack underflow"));
        }
        self.r.stack.pop().ok_or(Unsupported("stack underflow"))
    }
    fn top(&self) -> R<Id> {
        if self.r.stack.len() <= self.floor() {
            return Err(Unsupported("stack underflow"));
        }
        self.r.stack.last().copied().ok_or(Unsupported("stack underflow"))
    }
    /// Closes the topmost mark: the items above it, taken off the stack into `self.r.kids` as a
    /// new span (when `into` is `None`) or appended to the span `into`.
    fn pop_mark(&mut self, into: Option<Span>) -> R<Span> {
        let at = self.r.marks.pop().ok_or(Unsupported("no mark"))?;
        let stack = std::mem::take(&mut self.r.stack);
        let result = match into {
            None => self.span(&stack[at..]),
            Some(span) => self.extend(span, &stack[at..]),
        };
        self.r.stack = stack;
        self.r.stack.truncate(at);
        result
    }
    fn str(&mut self, n: usize) -> R<()> {
        let node = self.at.str(n)?;
        self.push(node)
    }
    fn bytes(&mut self, n: usize) -> R<()> {
        let node = self.at.bytes(n)?;
        self.push(node)
    }
    /// A new span holding `items`.
    fn span(&mut self, items: &[Id]) -> R<Span> {
        let start = u32::try_from(self.r.kids.len()).map_err(|_| Unsupported("too large"))?;
        self.r.kids.extend_from_slice(items);
        Ok(Span { start, len: items.len() as u32 })
    }
    /// `span` with `items` appended (moved to the end of the arena unless it is there already).
    fn extend(&mut self, span: Span, items: &[Id]) -> R<Span> {
        let (start, len) = (span.start as usize, span.len as usize);
        if start + len == self.r.kids.len() {
            self.r.kids.extend_from_slice(items);
            return Ok(Span { start: span.start, len: span.len + items.len() as u32 });
        }
        let new_start = u32::try_from(self.r.kids.len()).map_err(|_| Unsupported("too large"))?;
        self.r.kids.extend_from_within(start..start + len);
        self.r.kids.extend_from_slice(items);
        Ok(Span { start: new_start, len: span.len + items.len() as u32 })
    }
    fn memo_put(&mut self, at: usize) -> R<()> {
        let id = self.top()?;
        if at > 1 << 24 {
            return Err(Unsupported("memo index"));
        }
        if self.r.memo.len() <= at {
            self.r.memo.resize(at + 1, None);
        }
        self.r.memo[at] = Some(id);
        Ok(())
    }
    fn memo_get(&mut self, at: usize) -> R<()> {
        let id = self.r.memo.get(at).copied().flatten().ok_or(Unsupported("memo miss"))?;
        self.r.stack.push(id);
        Ok(())
    }
    fn tuple(&mut self, n: usize) -> R<()> {
        let mut items = [0 as Id; 3];
        for i in (0..n).rev() {
            items[i] = self.pop()?;
        }
        let span = self.span(&items[..n])?;
        self.push(Node::Tuple(span))
    }
    /// `SETITEMS`/`APPENDS`: the marked items go into the dict or list below the mark.
    fn add_marked(&mut self, dict: bool) -> R<()> {
        let at = *self.r.marks.last().ok_or(Unsupported("no mark"))?;
        let target = if at > 0 && at > self.r.marks.iter().rev().nth(1).copied().unwrap_or(0) {
            self.r.stack[at - 1]
        } else {
            return Err(Unsupported("stack underflow"));
        };
        let span = match (self.r.nodes[target as usize], dict) {
            (Node::Dict(span), true) if (self.r.stack.len() - at).is_multiple_of(2) => span,
            (Node::List(span), false) => span,
            _ => return Err(Unsupported("setitems/appends target")),
        };
        let span = self.pop_mark(Some(span))?;
        self.r.nodes[target as usize] = if dict { Node::Dict(span) } else { Node::List(span) };
        Ok(())
    }
    fn add_one(&mut self, dict: bool) -> R<()> {
        let v = self.pop()?;
        let k = if dict { Some(self.pop()?) } else { None };
        let target = self.top()?;
        let span = match (self.r.nodes[target as usize], dict) {
            (Node::Dict(span), true) | (Node::List(span), false) => span,
            _ => return Err(Unsupported("setitem/append target")),
        };
        let span = match k {
            Some(k) => self.extend(span, &[k, v])?,
            None => self.extend(span, &[v])?,
        };
        self.r.nodes[target as usize] = if dict { Node::Dict(span) } else { Node::List(span) };
        Ok(())
    }
    fn long(&mut self, n: usize) -> R<()> {
        let v = long(self.at.take(n)?)?;
        self.push(Node::Int(v))
    }

    /// Runs the machine, recording each opcode in the reader's shape.
    fn run(mut self) -> R<Id> {
        loop {
            let (op_at, made) = (self.at.pos, self.r.nodes.len() as u32);
            let op = self.u8()?;
            self.op(op)?;
            let arg = match op {
                b'q' | b'h' => self.at.data.get(op_at + 1).map_or(0, |b| u32::from(*b)),
                b'r' | b'j' => self
                    .at
                    .data
                    .get(op_at + 1..op_at + 5)
                    .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or_default())),
                _ => made,
            };
            self.r.shape.push(Step { op, arg });
            if is_value_op(op) {
                self.r.leaves.push(Leaf { start: op_at as u32 + 1, end: self.at.pos as u32, node: made });
            }
            if op == b'.' {
                let root = self.pop()?;
                if !self.r.stack.is_empty() || !self.r.marks.is_empty() || self.at.pos != self.at.data.len() {
                    return Err(Unsupported("trailing data"));
                }
                return Ok(root);
            }
        }
    }

    /// Runs one opcode (`STOP` is the caller's).
    fn op(&mut self, op: u8) -> R<()> {
        {
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if !(2..=5).contains(&proto) {
                        return Err(Unsupported("protocol"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: the frame is simply the following bytes
                }
                b'.' => {}
                b'(' => self.r.marks.push(self.r.stack.len()),
                b'}' => self.push(Node::Dict(Span::default()))?,
                b']' => self.push(Node::List(Span::default()))?,
                b')' => self.push(Node::Tuple(Span::default()))?,
                0x85 => self.tuple(1)?,
                0x86 => self.tuple(2)?,
                0x87 => self.tuple(3)?,
                b't' => {
                    let span = self.pop_mark(None)?;
                    self.push(Node::Tuple(span))?;
                }
                b'l' => {
                    let span = self.pop_mark(None)?;
                    self.push(Node::List(span))?;
                }
                b'd' => {
                    let span = self.pop_mark(None)?;
                    if !span.len.is_multiple_of(2) {
                        return Err(Unsupported("odd dict"));
                    }
                    self.push(Node::Dict(span))?;
                }
                b's' => self.add_one(true)?,
                b'u' => self.add_marked(true)?,
                b'a' => self.add_one(false)?,
                b'e' => self.add_marked(false)?,
                b'N' => self.push(Node::None)?,
                0x88 => self.push(Node::Bool(true))?,
                0x89 => self.push(Node::Bool(false))?,
                b'K' => {
                    let v = self.u8()?;
                    self.push(Node::Int(v.into()))?;
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Node::Int(v.into()))?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Node::Int(v.into()))?;
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    self.long(n)?;
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.at.take(8)?.try_into().unwrap_or_default());
                    self.push(Node::Float(v))?;
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    self.str(n)?;
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    self.str(n)?;
                }
                0x8d => {
                    let n = usize::try_from(self.u64()?).map_err(|_| Unsupported("size"))?;
                    self.str(n)?;
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    self.bytes(n)?;
                }
                0x8e => {
                    let n = usize::try_from(self.u64()?).map_err(|_| Unsupported("size"))?;
                    self.bytes(n)?;
                }
                0x94 => {
                    let at = self.r.memo.len();
                    self.memo_put(at)?;
                }
                b'q' => {
                    let at = self.u8()? as usize;
                    self.memo_put(at)?;
                }
                b'r' => {
                    let at = self.u32()? as usize;
                    self.memo_put(at)?;
                }
                b'h' => {
                    let at = self.u8()? as usize;
                    self.memo_get(at)?;
                }
                b'j' => {
                    let at = self.u32()? as usize;
                    self.memo_get(at)?;
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Node::Global(module, name))?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Node::Str(..), Node::Str(..)) = (self.r.nodes[module as usize], self.r.nodes[name as usize])
                    else {
                        return Err(Unsupported("stack_global"));
                    };
                    self.push(Node::Global(module, name))?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    self.push(Node::Call(f, args))?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.push(Node::New(cls, args))?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?;
                    match self.r.nodes[obj as usize] {
                        new @ Node::New(..) => {
                            // The object node keeps its id (memo references stay valid).
                            let inner = self.r.nodes.len() as Id;
                            self.r.nodes.push(new);
                            let states = self.span(&[state])?;
                            self.r.nodes[obj as usize] = Node::Built(inner, states);
                        }
                        Node::Built(inner, states) => {
                            let states = self.extend(states, &[state])?;
                            self.r.nodes[obj as usize] = Node::Built(inner, states);
                        }
                        _ => return Err(Unsupported("build")),
                    }
                }
                _ => return Err(Unsupported("opcode")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps({'a': (1, 'x'), 'b': [None, True, 2.5], 'c': b'\x01'}, 5)`
    const SIMPLE: &[u8] = b"\x80\x05\x95+\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01\x8c\x01x\x94\x86\x94\x8c\x01b\x94]\x94(N\x88G@\x04\x00\x00\x00\x00\x00\x00e\x8c\x01c\x94C\x01\x01\x94u.";

    #[test]
    fn reads_plain_containers() {
        let mut r = Reader::default();
        let p = r.parse(SIMPLE).unwrap();
        let a = p.dict_get(p.root, "a").unwrap();
        let items = p.tuple(a).unwrap();
        assert_eq!(p.get(items[0]), Value::Int(1));
        assert_eq!(p.str(items[1]), Some("x"));
        let b = p.dict_get(p.root, "b").unwrap();
        let Value::List(l) = p.get(b) else { panic!() };
        assert_eq!(
            p.items(l).iter().map(|i| p.get(*i)).collect::<Vec<_>>(),
            [Value::None, Value::Bool(true), Value::Float(2.5)]
        );
        assert_eq!(p.get(p.dict_get(p.root, "c").unwrap()), Value::Bytes(b"\x01"));
    }

    /// A tree as text, to compare two reads (to a depth: a mutated pickle can make cycles).
    fn render(p: &Pickle, id: Id, depth: u32) -> String {
        if depth == 0 {
            return "...".into();
        }
        let r = |id| render(p, id, depth - 1);
        let list = |span| p.items(span).iter().map(|i| r(*i)).collect::<Vec<_>>().join(",");
        match p.get(id) {
            Value::Tuple(s) => format!("({})", list(s)),
            Value::List(s) => format!("[{}]", list(s)),
            Value::Dict(s) => format!("{{{}}}", list(s)),
            Value::Call(f, a) => format!("{}{}", r(f), r(a)),
            Value::New(c, a) => format!("new {}{}", r(c), r(a)),
            Value::Built(o, s) => format!("{}<-[{}]", r(o), list(s)),
            v => format!("{v:?}"),
        }
    }

    fn read(r: &mut Reader, data: &[u8]) -> Result<String, Unsupported> {
        r.parse(data).map(|p| render(&p, p.root, 8))
    }

    /// `pickle.dumps({'id': 'a1', 'n': 300, 'when': datetime(2026, 1, 2, tzinfo=timezone.utc),
    /// 'args': (1, 'x')}, 5)`
    const JOBLIKE: &[u8] = b"\x80\x05\x95\x82\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02id\x94\x8c\x02a1\x94\x8c\x01n\x94M,\x01\x8c\x04when\x94\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\x0a\x07\xea\x01\x02\x00\x00\x00\x00\x00\x00\x94h\x05\x8c\x08timezone\x94\x93\x94h\x05\x8c\x09timedelta\x94\x93\x94K\x00K\x00K\x00\x87\x94R\x94\x85\x94R\x94\x86\x94R\x94\x8c\x04args\x94K\x01\x8c\x01x\x94\x86\x94u.";

    #[test]
    fn a_pickle_of_the_last_shape_reads_as_a_fresh_read_would() {
        let mut warm = Reader::default();
        // Same shape, other values: id "b7", n 301, year 2027, args (2, 'y').
        let mut other = JOBLIKE.to_vec();
        let at = |data: &[u8], pat: &[u8]| data.windows(pat.len()).position(|w| w == pat).unwrap();
        let i = at(&other, b"a1");
        other[i..i + 2].copy_from_slice(b"b7");
        let i = at(&other, b"M,\x01");
        other[i + 1] = 0x2d;
        let i = at(&other, b"\x07\xea");
        other[i + 1] = 0xeb;
        let i = at(&other, b"K\x01\x8c\x01x");
        other[i + 1] = 2;
        other[i + 4] = b'y';
        let fresh = read(&mut Reader::default(), &other).unwrap();
        assert_eq!(read(&mut warm, JOBLIKE).unwrap(), read(&mut Reader::default(), JOBLIKE).unwrap());
        assert!(warm.root.is_some() && !warm.shape.is_empty());
        assert_eq!(read(&mut warm, &other).unwrap(), fresh);
        assert!(fresh.contains("Str(\"b7\")") && fresh.contains("Int(301)") && fresh.contains("Str(\"y\")"));
        // And back, and to a pickle of another shape, and back again.
        assert_eq!(read(&mut warm, JOBLIKE).unwrap(), read(&mut Reader::default(), JOBLIKE).unwrap());
        assert_eq!(read(&mut warm, SIMPLE).unwrap(), read(&mut Reader::default(), SIMPLE).unwrap());
        assert_eq!(read(&mut warm, &other).unwrap(), fresh);
    }

    #[test]
    fn a_warm_reader_agrees_with_a_fresh_one_on_every_mutation() {
        for base in [SIMPLE, JOBLIKE] {
            let mut warm = Reader::default();
            for i in 0..base.len() {
                for b in 0..=255u8 {
                    let mut data = base.to_vec();
                    data[i] = b;
                    // Warm up on the base itself, then read the mutation.
                    read(&mut warm, base).unwrap();
                    assert_eq!(read(&mut warm, &data), read(&mut Reader::default(), &data), "byte {i} = {b}");
                }
            }
        }
    }

    #[test]
    fn never_panics_on_mutated_input() {
        for i in 0..SIMPLE.len() {
            let _ = Reader::default().parse(&SIMPLE[..i]);
            for b in 0..=255u8 {
                let mut data = SIMPLE.to_vec();
                data[i] = b;
                let _ = Reader::default().parse(&data);
            }
        }
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(Reader::default().parse(b"").is_err());
        assert!(Reader::default().parse(b"\x80\x05}").is_err());
        assert!(Reader::default().parse(&SIMPLE[..SIMPLE.len() - 1]).is_err());
        assert!(Reader::default().parse(b"\x80\x05\xff.").is_err());
        assert!(Reader::default().parse(b"\x80\x05h\x07.").is_err());
    }

    #[test]
    fn reads_globals_calls_and_builds() {
        // datetime.timedelta(0, 900, 0) and an object built from a dict state.
        let data = b"\x80\x04\x8c\x08datetime\x94\x8c\ttimedelta\x94\x93\x94K\x00M\x84\x03K\x00\x87\x94R\x94.";
        let mut r = Reader::default();
        let p = r.parse(data).unwrap();
        let Value::Call(f, args) = p.get(p.root) else { panic!() };
        assert!(p.is_global(f, "datetime", "timedelta"));
        assert_eq!(
            p.tuple(args).unwrap().iter().map(|i| p.get(*i)).collect::<Vec<_>>(),
            [Value::Int(0), Value::Int(900), Value::Int(0)]
        );
        let data = b"\x80\x02cm\nK\n)\x81}U\x01aK\x01sb.";
        // 'U' (SHORT_BINSTRING) is not supported: falls back.
        assert!(Reader::default().parse(data).is_err());
        let data = b"\x80\x02cm\nK\n)\x81}\x8c\x01aK\x01sb.";
        let mut r = Reader::default();
        let p = r.parse(data).unwrap();
        let Value::Built(obj, states) = p.get(p.root) else { panic!() };
        let Value::New(cls, _) = p.get(obj) else { panic!() };
        assert!(p.is_global(cls, "m", "K"));
        assert_eq!(p.get(p.dict_get(p.items(states)[0], "a").unwrap()), Value::Int(1));
    }
}
